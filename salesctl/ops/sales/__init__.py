"""The sales domain's use cases: leads and their import, customers and contacts, who owns
what (assign, claim, release, reclaim), follow-ups and visits, deals, contracts with their
payments and invoices, tasks, OKRs and the calendar."""
