from salesctl.cli.app import main

main()
