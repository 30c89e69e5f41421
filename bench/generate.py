#!/usr/bin/env python3
"""Generate synthetic salesctl stores: the bundled sample and stores of any size for benchmarks.

    python bench/generate.py --sample records                     # the curated sample, no git
    python bench/generate.py --leads 100000 --commits 50000 /tmp/big   # a benchmark store

How it works:

1. ``World`` invents the records. A record is a timeline of ``Step``s (fields to set, maybe a
   new owner); every step belongs to an ``Event``: one action by one member at one moment
   (``lead.convert`` updates a lead and creates its customer in one event). All randomness
   comes from one ``random.Random(seed)``: the same arguments give byte-identical stores.
2. ``plan_commits`` cuts the time-ordered events into exactly ``--commits - 1`` commits (the
   first commit adds ``salesctl.yaml``): the latest events one commit each, earlier ones
   batched per (period, action, member), as if synced from a previous CRM. Every commit is
   made by a member whose write scope covers it, so ``salesctl check --range`` passes over
   the whole history; members who left are deactivated by a ``config.edit`` when they go.
3. ``replay`` applies the commits in order, writes each touched record with ``yamlio.dumps`` at
   its ``salesctl.store.layout`` path (moving a record's whole directory when its owner
   changes) and streams them into one ``git fast-import``; without git it writes the final
   files only.

Within a period, batched commits run in ``ACTIONS`` order. A record's actions follow that
order in time too (a lead is added, then claimed, edited, converted, released), so replaying
by action gives every record the same states as replaying by time; ``replay`` asserts it.
Follow-ups and visits go right after the move that gave their lead or customer its owner
at the time (``_slot``), so they land in that owner's directory.

Scale: ``--leads 100000 --customers 20000 --contracts 5000 --followups 200000 --members 100
--commits 50000`` takes about three minutes on two cores, mostly git: fast-import rewrites a
member's lead directory (a thousand entries) for nearly every commit, and the checkout writes
~385,000 files. ``--verbose`` prints the time of each phase.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import math
import os
import queue
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from salesctl import yamlio  # noqa: E402
from salesctl.ids import ALPHABET, ID_LENGTH  # noqa: E402
from salesctl.model.config import DEFAULT_DEAL_STAGES, DEFAULT_LEAD_STAGES  # noqa: E402
from salesctl.model.kinds import KINDS, SCHEMA_VERSION, Kind  # noqa: E402
from salesctl.store.layout import COMPANY, POOL, Owner, child_file, record_dir  # noqa: E402

TZ = dt.timezone(dt.timedelta(hours=8))  # the config's Asia/Shanghai (no daylight saving)
GIT_TZ = "+0800"
MINUTE, HOUR, DAY = 60, 3600, 86400
DEFAULT_TODAY = dt.date(2026, 11, 27)

# Batched commits within one period run in this order; each record's own actions follow it in
# time as well (see the module docstring), and children come after their parents.
ACTIONS = (
    "okr.add",
    "okr.checkin",
    "competitor.add",
    "competitor.note",
    "lead.add",
    "lead.import",
    "lead.assign",
    "lead.claim",
    "lead.edit",
    "lead.convert",
    "lead.disqualify",
    "lead.release",
    "customer.add",
    "contact.add",
    "customer.edit",
    "customer.release",
    "deal.add",
    "deal.move",
    "contract.add",
    "contract.activate",
    "contract.pay",
    "contract.invoice",
    "task.start",
    "task.done",
    "followup.add",
    "visit.add",
    "visit.done",
    "visit.cancel",
    "config.edit",  # last: a member's deactivation follows their final work
)
RANK = {action: i for i, action in enumerate(ACTIONS)}
FIELD_ORDER = {k.name: tuple(f.name for f in k.fields) for k in KINDS.values()}

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------
# fmt: off

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("罗", "luo"), ("高", "gao"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
]
GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("磊", "lei"),
    ("强", "qiang"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"), ("杰", "jie"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"),
    ("丽", "li"), ("浩", "hao"), ("婷", "ting"), ("宇", "yu"), ("鑫", "xin"), ("晨", "chen"),
    ("博", "bo"), ("欣", "xin"), ("佳", "jia"), ("琳", "lin"), ("雪", "xue"), ("峰", "feng"),
    ("凯", "kai"), ("颖", "ying"), ("思", "si"), ("文", "wen"), ("建", "jian"), ("海", "hai"),
]
FIRST_NAMES = [
    "Alice", "Amy", "Ben", "Chris", "Daniel", "David", "Emily", "Emma", "Eric", "Frank", "Grace",
    "Helen", "Henry", "Ivy", "Jack", "James", "Jason", "Jenny", "Kevin", "Laura", "Leo", "Linda",
    "Lucy", "Mark", "Michael", "Nancy", "Oliver", "Peter", "Rachel", "Ryan", "Sarah", "Sophia",
    "Steven", "Tina", "Tom", "Vivian", "William", "Zoe",
]
LAST_NAMES = [
    "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Lewis", "Walker",
    "Hall", "Young", "King", "Wright", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell",
    "Turner", "Parker", "Evans", "Collins", "Morris", "Murphy", "Cook", "Morgan", "Cooper", "Reed",
    "Lin", "Chen", "Wong", "Lee", "Ho", "Tan",
]
CITIES = [
    ("上海", "shanghai"), ("北京", "beijing"), ("深圳", "shenzhen"), ("杭州", "hangzhou"),
    ("苏州", "suzhou"), ("南京", "nanjing"), ("广州", "guangzhou"), ("成都", "chengdu"),
    ("武汉", "wuhan"), ("西安", "xian"), ("天津", "tianjin"), ("重庆", "chongqing"),
    ("宁波", "ningbo"), ("厦门", "xiamen"), ("青岛", "qingdao"), ("合肥", "hefei"),
    ("长沙", "changsha"), ("无锡", "wuxi"), ("佛山", "foshan"), ("东莞", "dongguan"),
]
BRANDS = [
    ("华信", "huaxin"), ("锐达", "ruida"), ("云帆", "yunfan"), ("恒通", "hengtong"),
    ("新元", "xinyuan"), ("鼎盛", "dingsheng"), ("博远", "boyuan"), ("天润", "tianrun"),
    ("宏图", "hongtu"), ("金桥", "jinqiao"), ("海纳", "haina"), ("瑞丰", "ruifeng"),
    ("卓越", "zhuoyue"), ("启明", "qiming"), ("星河", "xinghe"), ("万象", "wanxiang"),
    ("智联", "zhilian"), ("安达", "anda"), ("德润", "derun"), ("嘉禾", "jiahe"),
    ("凯盛", "kaisheng"), ("远航", "yuanhang"), ("聚源", "juyuan"), ("朗润", "langrun"),
    ("睿思", "ruisi"), ("信达", "xinda"), ("润泽", "runze"), ("百川", "baichuan"),
    ("同创", "tongchuang"), ("正源", "zhengyuan"), ("和信", "hexin"), ("汇智", "huizhi"),
    ("精工", "jinggong"), ("美联", "meilian"), ("新航", "xinhang"), ("众诚", "zhongcheng"),
    ("君和", "junhe"), ("明德", "mingde"), ("腾达", "tengda"), ("泰和", "taihe"),
    ("祥云", "xiangyun"), ("蓝海", "lanhai"), ("青松", "qingsong"), ("翔宇", "xiangyu"),
    ("恒远", "hengyuan"), ("天成", "tiancheng"), ("华联", "hualian"), ("金穗", "jinsui"),
]
CN_INDUSTRIES = [
    ("科技", "tech", "Software"), ("网络科技", "net", "Internet"), ("电子", "dz", "Electronics"),
    ("机械", "jx", "Manufacturing"), ("精密制造", "mfg", "Manufacturing"),
    ("物流", "wl", "Logistics"), ("医疗器械", "med", "Healthcare"),
    ("食品", "food", "Food & Beverage"), ("贸易", "trade", "Wholesale"),
    ("新能源", "energy", "Energy"), ("建材", "jc", "Construction"), ("化工", "chem", "Chemicals"),
    ("教育科技", "edu", "Education"), ("汽车零部件", "auto", "Automotive"),
    ("纺织", "tex", "Textiles"), ("生物科技", "bio", "Biotech"), ("零售", "retail", "Retail"),
]
EN_PREFIXES = [
    "Northwind", "Bluefin", "Silverline", "Redwood", "Summit", "Pioneer", "Harbor", "Crescent",
    "Evergreen", "Granite", "Lighthouse", "Maple", "Orion", "Pacific", "Quantum", "Riverside",
    "Sterling", "Trident", "Vertex", "Westbrook", "Brightway", "Clearwater", "Falcon",
    "Ironbridge", "Keystone", "Lakeside", "Meridian", "Nimbus", "Oakridge", "Polaris",
]
EN_INDUSTRIES = [
    ("Software", "Software"), ("Systems", "Software"), ("Logistics", "Logistics"),
    ("Freight", "Logistics"), ("Medical", "Healthcare"), ("Foods", "Food & Beverage"),
    ("Trading", "Wholesale"), ("Energy", "Energy"), ("Construction", "Construction"),
    ("Chemicals", "Chemicals"), ("Learning", "Education"), ("Automotive", "Automotive"),
    ("Textiles", "Textiles"), ("Analytics", "Internet"), ("Biotech", "Biotech"),
    ("Robotics", "Manufacturing"), ("Electronics", "Electronics"), ("Retail", "Retail"),
]
EN_SUFFIXES = ["Ltd", "Inc.", "Co., Ltd.", "GmbH", "Pte. Ltd.", "LLC", "(Shanghai) Co., Ltd."]
EN_CITIES = ["Singapore", "Hong Kong", "London", "Munich", "San Jose", "Sydney", "Shanghai"]
AREA_CODES = ["021", "010", "0755", "0571", "020", "028", "025", "027", "0512"]
SOURCES = [
    "website", "referral", "trade show", "cold call", "官网", "展会", "webinar", "partner",
    "百度推广", "LinkedIn",
]
TAGS = [
    "vip", "hot", "key-account", "制造业", "new-market", "2026-campaign", "needs-demo",
    "renewal", "政府项目", "SMB",
]
TITLES = [
    "采购经理", "IT 总监", "总经理", "CTO", "Purchasing Manager", "Operations Director", "CFO",
    "项目经理", "Head of IT", "财务总监",
]
PRODUCTS = [
    "CRM subscription", "ERP integration", "Data platform licence", "年度运维服务",
    "Warehouse system upgrade", "BI dashboards", "Cloud migration", "安全审计服务",
    "MES 系统实施", "Customer portal",
]
COMPETITORS = ["Salesforce", "HubSpot", "纷享销客", "销售易", "Zoho", "金蝶", "用友", "Odoo"]
# What the org keeps on each (competitor records): aliases, website, strengths, weaknesses,
# pricing.
COMPETITOR_FACTS = {
    "Salesforce": (["SFDC", "Sales Cloud"], "https://www.salesforce.com",
                   "Market leader; ecosystem; what international headquarters mandate.",
                   "Price; data residency questions in China; support through partners.",
                   "Sales Cloud Enterprise list price 165 USD per user per month."),
    "HubSpot": (["HubSpot CRM"], "https://www.hubspot.com",
                "Free tier and marketing automation; easy to start.",
                "Weak in China (no WeChat, no local hosting).",
                "Sales Hub Professional 90 USD per seat per month."),
    "纷享销客": (["Fxiaoke", "纷享"], "https://www.fxiaoke.com",
             "Mobile-first CRM; deep WeCom and DingTalk integration; strong in manufacturing.",
             "Custom objects and reports need their paid services team.",
             "Standard edition about 300 CNY per seat per year; big discounts at year end."),
    "销售易": (["Neocrm", "XSY"], "https://www.xiaoshouyi.com",
            "Good PaaS and partner portal; AI lead scoring in the demo.",
            "Long implementation (3-6 months); slow support outside Beijing.",
            "Quotes per project; enterprise deals from 200k CNY."),
    "Zoho": (["Zoho CRM"], "https://www.zoho.com/crm", "Cheap; broad suite.",
             "Little presence and support in mainland China.",
             "Enterprise edition about 40 USD per user per month."),
    "金蝶": (["Kingdee", "金蝶云"], "https://www.kingdee.com",
           "Installed base in finance; bundles CRM with its ERP.",
           "CRM module is thin; sales teams dislike the UI.",
           "Often thrown in with the ERP licence."),
    "用友": (["Yonyou", "用友网络"], "https://www.yonyou.com",
           "State-owned and large enterprises trust it; ERP integration.",
           "Heavy; needs consultants for every change.", "Per-module licences, negotiated."),
    "Odoo": ([], "https://www.odoo.com", "Open source; customers' IT teams like owning it.",
             "Integrators vary in quality; upgrades between versions hurt.",
             "Community free; Enterprise about 25 USD per user per month."),
}  # fmt: skip
COMPETITOR_NOTES = [
    "他们给客户报了 8 折，还承诺免费实施两周。",
    "Their HQ is pushing a global rollout; the local team prefers us on price.",
    "实施周期被客户吐槽，预计 4 个月，我们可以强调两周上线。",
    "Bundled free seats into their ERP renewal to keep us out.",
    "客户反馈他们的移动端很好用，我们演示时要重点展示 App。",
]
WON_REASONS = [
    "Best fit for their ERP integration",
    "价格和交付周期优势明显",
    "Strong reference customer in the same industry",
    "老客户推荐，信任度高",
    "Local support team won the evaluation",
]
LOST_REASONS = [
    "Price 20% above the competitor",
    "客户选择了本地化更好的方案",
    "Lost on integration requirements",
    "竞品给出了三年免费维护",
]
DISQUALIFY_REASONS = [
    "No budget this year", "预算不足", "Not the decision maker; company too small",
    "已有供应商，合同未到期", "Duplicate of an existing customer", "联系方式无效",
]
RELEASE_REASONS = [
    "No response after several calls", "客户暂无需求，释放到公海",
    "Outside my territory", "三个月内无进展",
]
LEAVER_REASON = "Owner left the company; back to the pool"
LEAD_NOTES = [
    "Met at the Shanghai trade show booth", "官网留言咨询价格", "Referred by an existing customer",
    "Downloaded the product white paper", "电话咨询过实施周期",
]
EDIT_NOTES = [
    "Budget cycle starts in Q1", "决策人是IT总监", "Prefers WeChat over phone calls",
    "Asked for an on-site demo", "对价格比较敏感", "Needs bilingual invoices",
    "Procurement goes through a tender", "计划明年扩大采购规模",
]
FOLLOWUPS_EN = [
    ("call", "Called {name}; they are comparing us with {competitor}. Quote promised by {date}."),
    ("email", "Sent the product deck and pricing for {product} to {name}."),
    ("meeting", "Demo went well, {name} wants to involve their IT team."),
    ("call", "No answer, left a voicemail for {name}."),
    ("meeting", "Reviewed requirements for {product} with {name}.\nNext: prepare a proposal."),
    ("email", "{name} asked for references in their industry; sent two case studies."),
    ("other", "Met {name} at an industry dinner; they expect a decision next quarter."),
]
FOLLOWUPS_ZH = [
    ("call", "电话沟通，{name}对{product}感兴趣，约了下周演示。"),
    ("wechat", "微信发送了报价单，等待{name}反馈。"),
    ("call", "客户预算审批中，预计{date}前有结果。"),
    ("visit", "拜访客户，和{name}讨论了实施方案。\n下一步：准备合同草稿。"),
    ("wechat", "{name}询问了与{competitor}的差异，已发送对比材料。"),
    ("email", "邮件发送{product}方案书，抄送对方IT负责人。"),
]
MENTION_EN = " @{m} can you join the next call?"
MENTION_ZH = " @{m} 请协助准备技术方案。"
VISIT_AGENDA = ["Demo and pricing discussion", "现场演示并讨论报价", "Kick-off meeting", "商务谈判"]
VISIT_OUTCOME = [
    "Met the IT team; they want a pilot.", "客户认可方案，等待采购流程。",
    "Walked through the contract terms.", "现场确认需求，需补充报价。",
]
VISIT_CANCELLED = ["Customer postponed the meeting", "客户临时出差，改期"]
# the config's won_deal_tasks: salesctl's default steps, with due dates
WON_DEAL_TASKS: list[dict[str, Any]] = [
    {"title": "Send contract", "role": "owner", "due_days": 3},
    {"title": "Collect payment", "role": "finance", "done_when": "paid", "due_days": 30},
    {"title": "Activate service", "role": "service", "due_days": 14},
    {"title": "Issue invoice", "role": "finance", "done_when": "invoiced", "due_days": 7},
]
CUSTOM_FIELDS = {
    "lead": [{"name": "budget", "type": "number"}],
    "customer": [
        {"name": "size", "type": "choice", "choices": ["small", "medium", "large", "enterprise"]},
        {"name": "region", "type": "choice", "choices": ["华东", "华北", "华南", "海外"]},
    ],
    "deal": [
        {"name": "products", "type": "multi-choice", "choices": ["crm", "erp", "bi", "support"]},
    ],
}
TEAM_NAMES = [
    ("east", "华东区"), ("north", "North region"), ("south", "South region"), ("west", "西部区"),
    ("central", "华中区"), ("northeast", "东北区"), ("overseas", "Overseas"), ("key", "大客户部"),
]
SAMPLE_ORG = ("Acme Trading 艾克美贸易", "acme.example")
SAMPLE_MEMBERS = [  # id, name, team, role, left this many days before --today (inactive)
    ("wanglei", "王磊", None, "director", None),
    ("chenjing", "陈静", None, "finance", None),
    ("zhaomin", "赵敏", None, "service", None),
    ("liuyang", "刘洋", "east", "lead", None),
    ("zhangwei", "张伟", "east", "rep", None),
    ("lina", "李娜", "east", "rep", None),
    ("sunhao", "孙浩", "east", "rep", 30),
    ("michael", "Michael Zhou", "north", "lead", None),
    ("amy", "Amy Lin", "north", "rep", None),
    ("kevin", "Kevin Xu", "north", "rep", None),
    ("grace", "Grace Huang", "south", "lead", None),
    ("zhoujie", "周杰", "south", "rep", None),
    ("tom", "Tom Guo", "south", "rep", 200),
]
# fmt: on

# ---------------------------------------------------------------------------------------------
# Data model of the generator
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Person:
    """A member of the org config."""

    id: str
    name: str
    email: str
    role: str
    team: str | None = None
    left: int | None = None  # when an inactive member left (epoch seconds)

    @property
    def owner(self) -> Owner:
        return Owner(member=self.id, team=self.team)

    def active_at(self, at: int) -> bool:
        return self.left is None or at < self.left


@dataclass(slots=True, eq=False)
class Record:
    """One record: its timeline while generating, its live state while replaying."""

    kind: Kind
    id: str
    parent: Record | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # generation-time facts (company...)
    steps: list[Step] = field(default_factory=list)
    owners: list[tuple[int, Owner, str]] = field(default_factory=list)  # when, who, by what
    # replay state
    applied: int = 0
    data: dict[str, Any] | None = None
    owner_now: Owner | None = None
    dir: str | None = None  # current record directory (top-level records)
    files: dict[str, Any] = field(default_factory=dict)  # path in dir -> blob (top-level)


@dataclass(slots=True, eq=False)
class Step:
    """Fields a record gets set (and maybe a new owner) by one event."""

    record: Record
    at: int
    action: str
    patch: dict[str, Any]
    owner: Owner | None = None


Change = tuple[Record, dict[str, Any], Owner | None]  # fields to set, new owner (or None)


@dataclass(slots=True)
class Event:
    """One action by one member at one moment; one commit when it is not batched."""

    at: int
    seq: int
    actor: Person
    action: str
    steps: list[Step]
    config_as_of: int | None = None  # a config.edit: salesctl.yaml as of this moment


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str
    chinese: bool


@dataclass
class Params:
    """What to generate; ``--sample`` fills in the curated sample's counts."""

    leads: int
    customers: int
    deals: int
    contracts: int
    followups: int
    visits: int
    members: int
    teams: int
    commits: int
    seed: int
    today: dt.date
    git: bool
    sample: bool
    span_days: int  # how far back records go
    recent_days: int | None = None  # follow-ups and visits only in this many last days
    verbose: bool = False


# ---------------------------------------------------------------------------------------------
# Names, companies, phones and texts
# ---------------------------------------------------------------------------------------------


class Names:
    """Realistic-looking Chinese and English names, companies, contacts and phone numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def company(self) -> Company:
        rng = self.rng
        if rng.random() < 0.6:
            city = rng.choice(CITIES)[0] + ("市" if rng.random() < 0.3 else "")
            brand, brand_py = rng.choice(BRANDS)
            word, word_py, industry = rng.choice(CN_INDUSTRIES)
            suffix = "股份有限公司" if rng.random() < 0.15 else "有限公司"
            tld = rng.choice(("com", "cn", "com.cn"))
            domain = f"{brand_py}{word_py}.{tld}"
            return Company(f"{city}{brand}{word}{suffix}", domain, industry, True)
        prefix = rng.choice(EN_PREFIXES)
        word, industry = rng.choice(EN_INDUSTRIES)
        name = f"{prefix} {word} {rng.choice(EN_SUFFIXES)}"
        return Company(name, f"{prefix}{word}.com".lower(), industry, False)

    def person(self, chinese: bool) -> tuple[str, str]:
        """A person's name and the local part of their email address."""
        rng = self.rng
        if chinese:
            surname, surname_py = rng.choice(SURNAMES)
            given = rng.sample(GIVEN, rng.choice((1, 2)))
            given_py = "".join(py for _, py in given)
            local = f"{given_py}.{surname_py}" if rng.random() < 0.5 else surname_py + given_py
            return surname + "".join(ch for ch, _ in given), local
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return f"{first} {last}", f"{first}.{last}".lower()

    def phone(self, chinese: bool) -> str:
        rng = self.rng
        digits = "".join(rng.choice("0123456789") for _ in range(8))
        if chinese and rng.random() < 0.7:
            return f"+86 1{rng.choice('3589')}{rng.choice('0123456789')} {digits[:4]} {digits[4:]}"
        if chinese:
            return f"{rng.choice(AREA_CODES)}-{digits}"
        return rng.choice(("+1 415 555 ", "+44 20 7946 ", "+65 6123 ")) + digits[:4]

    def contact(self, company: Company) -> dict[str, Any]:
        chinese = company.chinese if self.rng.random() < 0.9 else not company.chinese
        name, local = self.person(chinese)
        row: dict[str, Any] = {"name": name, "title": self.rng.choice(TITLES)}
        if self.rng.random() < 0.8:
            row["phone"] = self.phone(company.chinese)
        row["email"] = f"{local}@{company.domain}"
        return row


# ---------------------------------------------------------------------------------------------
# The world: members and records with their timelines
# ---------------------------------------------------------------------------------------------


class World:
    """Invents an org and its records, as timelines of events, from one seeded RNG."""

    def __init__(self, params: Params) -> None:
        self.p = params
        self.rng = random.Random(params.seed)
        self.names = Names(self.rng)
        self.end = int(dt.datetime(*params.today.timetuple()[:3], tzinfo=TZ).timestamp())
        self.start = self.end - params.span_days * DAY
        self.recent = self.end - params.recent_days * DAY if params.recent_days else self.start
        self.members: list[Person] = []
        self.teams: list[tuple[str, str]] = []
        self.org = SAMPLE_ORG
        self.records: list[Record] = []  # top-level records
        self.children: list[Record] = []
        self.events: list[Event] = []
        self.ids: set[str] = set()
        self.seq = 0
        self.leads: list[Record] = []
        self.customers: list[Record] = []  # every customer
        self.dealable: list[tuple[Record, Person, int]] = []  # owned customers, created when
        self.won: list[tuple[Record, Record, Person, int]] = []  # deal, customer, owner, when
        self.talk_targets: list[tuple[Record, int, int, float]] = []  # follow-up windows
        self.converted_left = 0
        self.invoices = 0  # invoice numbers run on
        self.owning_cap: int | None = None

    # -- basics ------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """An id in salesctl.ids format, drawn from the seeded RNG (never a duplicate)."""
        while True:
            bits = self.rng.getrandbits(5 * ID_LENGTH)
            chars = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(ID_LENGTH))
            record_id = f"{prefix}-{chars}"
            if record_id not in self.ids:
                self.ids.add(record_id)
                return record_id

    def new_record(self, kind_name: str, parent: Record | None = None, **meta: Any) -> Record:
        kind = KINDS[kind_name]
        record = Record(kind, self.new_id(kind.prefix), parent, meta)
        (self.children if parent else self.records).append(record)
        return record

    def act(
        self,
        at: int,
        actor: Person,
        action: str,
        changes: Sequence[Change],
    ) -> None:
        """Record one event: each change is (record, fields to set, new owner or None)."""
        steps = []
        for record, patch, owner in changes:
            assert not record.steps or record.steps[-1].at <= at, (record.id, action)
            step = Step(record, at, action, patch, owner)
            record.steps.append(step)
            if owner is not None:
                record.owners.append((at, owner, action))
            steps.append(step)
        self.seq += 1
        self.events.append(Event(at, self.seq, actor, action, steps))

    def between(self, lo: int, hi: int) -> int:
        """A moment in [lo, hi), moved into office hours (09-19 local) when that fits."""
        if hi <= lo + 1:
            return lo
        at = self.rng.randrange(lo, hi)
        second = (at + 8 * HOUR) % DAY
        if not 9 * HOUR <= second < 19 * HOUR:
            moved = at - second + 9 * HOUR + self.rng.randrange(10 * HOUR)
            if lo <= moved < hi:
                at = moved
        return at

    def times_after(self, at: int, count: int, span: int, until: int | None = None) -> list[int]:
        """``count`` sorted moments after ``at``, within ``span`` seconds, before ``until``
        (default: an hour before today)."""
        hi = min(self.end - HOUR if until is None else until, at + span)
        return sorted(self.between(at + MINUTE, max(hi, at + 2 * MINUTE)) for _ in range(count))

    def after(self, at: int, min_days: float, max_days: float, margin: int = HOUR) -> int:
        """A moment some days after ``at``, but more than ``margin`` before today."""
        hi = min(at + int(max_days * DAY), self.end - margin)
        lo = at + int(min_days * DAY)
        return self.between(lo if lo < hi else at, hi)  # too close to today: any time left

    def chain(self, at: int, count: int, min_days: int, max_days: int) -> list[int]:
        """Up to ``count`` moments, each a few days after the one before; none from today on."""
        times = []
        for _ in range(count):
            at = self.between(at + min_days * DAY, at + max_days * DAY)
            if at >= self.end - HOUR:
                break
            times.append(at)
        return times

    def created_time(self, growing: bool = False) -> int:
        """When a record was created; ``growing``: more recent is likelier (more leads lately)."""
        lo, hi = self.start, self.end - 2 * DAY
        share = math.sqrt(self.rng.random()) if growing else self.rng.random()
        at = lo + int((hi - lo) * share)
        return self.between(at, min(at + DAY, hi))

    def when(self, at: int) -> dt.date:
        return dt.datetime.fromtimestamp(at, TZ).date()

    def moment(self, at: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(at, TZ)

    def owner_at(self, record: Record, at: int) -> Owner:
        i = bisect.bisect_right(record.owners, at, key=lambda change: change[0])
        return record.owners[max(i - 1, 0)][1]

    def amount(self, low: int, high: int) -> Decimal:
        """A CNY amount: mostly whole thousands, sometimes with cents."""
        value = Decimal(self.rng.randrange(low, high, 1000))
        if self.rng.random() < 0.2:
            value += Decimal(self.rng.randrange(1, 100000)) / 100
        return value.quantize(Decimal("0.01")) if value % 1 else value

    # -- members -----------------------------------------------------------------------------

    def make_members(self) -> None:
        """The curated sample org, or ``--members`` people in ``--teams`` teams."""
        if self.p.sample:
            self.teams = list(TEAM_NAMES[:3])
            domain = self.org[1]
            for member_id, name, team, role, left_days in SAMPLE_MEMBERS:
                left = self.end - left_days * DAY if left_days else None
                email = f"{member_id}@{domain}"
                self.members.append(Person(member_id, name, email, role, team, left))
        else:
            self.org = ("Synthetic Trading Co.", "synthetic.example")
            self.teams = [
                TEAM_NAMES[i] if i < len(TEAM_NAMES) else (f"team{i + 1}", f"Team {i + 1}")
                for i in range(self.p.teams)
            ]
            self.members = self.generated_members()
        self.by_id = {m.id: m for m in self.members}
        self.director = next(m for m in self.members if m.role == "director")
        self.finance = [m for m in self.members if m.role == "finance"]
        self.service = [m for m in self.members if m.role == "service"]
        owners = [m for m in self.members if m.left is None and m.role in ("rep", "lead")]
        weights = [1.0 if m.role == "rep" else 0.4 for m in owners]
        # the director keeps a few key accounts (about 2% of everything owned)
        self.owners, self.owner_weights = [*owners, self.director], [*weights, sum(weights) / 50]
        self.team_lead = {m.team: m for m in self.members if m.role == "lead"}
        self.leavers = [m for m in self.members if m.left and m.role in ("rep", "lead")]

    def generated_members(self) -> list[Person]:
        """Director, finance, service, one lead per team and reps; a few have left."""
        count, teams = self.p.members, [t for t, _ in self.teams]
        support = max(1, count // 40)
        roles = ["director"] + ["finance"] * support + ["service"] * support + ["lead"] * len(teams)
        roles += ["rep"] * (count - len(roles))
        inactive = set(range(len(roles) - max(1, count // 30), len(roles)))
        members, seen = [], set()
        for i, role in enumerate(roles):
            name, local = self.names.person(self.rng.random() < 0.7)
            member_id = local.replace(".", "-")[:28]
            suffix = 2
            while member_id in seen:
                member_id, suffix = f"{local.replace('.', '-')[:28]}{suffix}", suffix + 1
            seen.add(member_id)
            team = None
            if role == "lead":
                team = teams[(i - 1 - 2 * support) % len(teams)]
            elif role == "rep":
                team = teams[i % len(teams)]
            left = None
            if i in inactive and role == "rep":
                left = self.between(self.start + (self.end - self.start) // 3, self.end - 10 * DAY)
            members.append(Person(member_id, name, f"{member_id}@{self.org[1]}", role, team, left))
        return members

    def pick_owner(self, lead_at: int | None = None) -> Person:
        """Who owns a new record. Leads (``lead_at``: from when) may go to somebody who
        leaves a month or more later and releases them to the pool before leaving."""
        people, weights = self.owners, self.owner_weights
        if lead_at is not None:
            leavers = [m for m in self.leavers if m.left and m.left - lead_at > 30 * DAY]
            people, weights = people + leavers, weights + [1.0] * len(leavers)
        return self.rng.choices(people, weights)[0]

    def boss_of(self, person: Person) -> Person:
        return self.team_lead.get(person.team, self.director)

    def teammates(self, person: Person, at: int) -> list[Person]:
        return [
            m
            for m in self.members
            if m.team == person.team
            and m is not person
            and m.active_at(at)
            and m.role in ("rep", "lead")
        ]

    def staff(self, people: list[Person], at: int, fallback: Person) -> Person:
        """The first of ``people`` (finance, service) still employed at ``at``."""
        return next((m for m in people if m.active_at(at)), fallback)

    def config(self, as_of: int) -> dict[str, Any]:
        """The salesctl.yaml content at ``as_of``: who has left by then is inactive."""
        if self.owning_cap is None:  # twice the most open leads anybody owns in the end
            closed = ("converted", "disqualified")
            owned = Counter(
                self.owner_at(lead, self.end).member
                for lead in self.leads
                if [s.patch["stage"] for s in lead.steps if "stage" in s.patch][-1] not in closed
            )
            owned.pop(None, None)
            self.owning_cap = max(200, math.ceil(max(owned.values(), default=0) / 50) * 100)
        cap = self.owning_cap
        members = []
        for m in self.members:
            row: dict[str, Any] = {"id": m.id, "name": m.name, "email": m.email}
            if m.team:
                row["team"] = m.team
            row["role"] = m.role
            if m.left is not None and m.left <= as_of:
                row["active"] = False
            members.append(row)
        return {
            "org": self.org[0],
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "teams": [{"id": t, "name": name} for t, name in self.teams],
            "members": members,
            "lead_stages": list(DEFAULT_LEAD_STAGES),
            "deal_stages": [{"id": s, "probability": p} for s, p in DEFAULT_DEAL_STAGES],
            "custom_fields": CUSTOM_FIELDS,
            "pool": {"reclaim_after_days": 30, "max_owned_leads": cap},
            "won_deal_tasks": WON_DEAL_TASKS,
        }

    # -- everything --------------------------------------------------------------------------

    def build(self) -> None:
        """Invent the whole store; ``self.events`` ends up in time order."""
        p = self.p
        if (p.deals or p.contracts) and not p.customers:
            raise SystemExit("error: deals and contracts need --customers of at least 1")
        if (p.followups or p.visits) and not (p.leads or p.customers):
            raise SystemExit("error: follow-ups need leads or customers")
        self.make_members()
        self.make_okrs()
        self.converted_left = min(p.customers, round(p.customers * 0.6))
        self.make_leads()
        for _ in range(p.customers - sum(1 for c in self.customers)):
            self.add_customer()
        self.make_deals()
        self.make_contracts()
        self.make_followups()
        self.make_visits()
        for member in sorted(self.leavers, key=lambda m: m.left or 0):
            assert member.left is not None
            self.seq += 1
            event = Event(member.left, self.seq, self.director, "config.edit", [], member.left)
            self.events.append(event)
        self.make_competitors()
        self.events.sort(key=lambda e: (e.at, e.seq))
        late = [e for e in self.events if e.at >= self.end]
        assert not late, f"{late[0].action} at {self.moment(late[0].at)} is not before --today"

    # -- competitors -------------------------------------------------------------------------

    def make_competitors(self) -> None:
        """The competitors the deals name, as the org keeps them, and a note on some. Drawn
        last, from an RNG of their own, so the rest of a seeded store is what it was before
        stores kept competitors."""
        main, self.rng = self.rng, random.Random(f"{self.p.seed}-competitors")
        try:
            at = self.between(self.start, self.start + 7 * DAY)
            reps = [m for m in self.owners if m.role == "rep"]
            for name in COMPETITORS:
                aliases, website, strengths, weaknesses, pricing = COMPETITOR_FACTS[name]
                record = self.new_record("competitor")
                data: dict[str, Any] = {"name": name, "aliases": aliases or None}
                data["website"] = website
                data.update(strengths=strengths, weaknesses=weaknesses, pricing=pricing)
                data["created"] = self.when(at)
                self.act(at, self.director, "competitor.add", [(record, data, COMPANY)])
                if not reps or self.rng.random() < 0.5:
                    continue
                noted = self.between(at + DAY, self.end - DAY)
                author = self.rng.choice([r for r in reps if r.active_at(noted)] or reps)
                note = self.new_record("note", record)
                text = self.rng.choice(COMPETITOR_NOTES)
                fields = {"competitor": record.id, "author": author.id, "at": self.moment(noted)}
                self.act(noted, author, "competitor.note", [(note, {**fields, "text": text}, None)])
        finally:
            self.rng = main

    # -- OKRs --------------------------------------------------------------------------------

    def make_okrs(self) -> None:
        """Company OKRs for recent quarters, team OKRs and a few members' for this quarter."""
        today = self.p.today
        quarter = (today.month - 1) // 3
        starts = []
        for back in range(4 if not self.p.sample else 2):
            q = quarter - back
            year = today.year + (q // 4)
            starts.append((dt.date(year, 3 * (q % 4) + 1, 1), f"{year}-Q{q % 4 + 1}"))
        for begin, period in starts:
            self.add_okr(begin, period, COMPANY, "company", self.director, company_okr=True)
        begin, period = starts[0]
        for team, _ in self.teams:
            lead = self.team_lead.get(team, self.director)
            self.add_okr(begin, period, Owner(team=team), team, lead)
        reps = [m for m in self.owners if m.role == "rep"]
        for rep in self.rng.sample(reps, min(len(reps), max(3, len(reps) // 10))):
            self.add_okr(begin, period, rep.owner, rep.id, rep)

    def add_okr(
        self,
        begin: dt.date,
        period: str,
        owner: Owner,
        owner_name: str,
        author: Person,
        company_okr: bool = False,
    ) -> None:
        at = int(dt.datetime(*begin.timetuple()[:3], 10, tzinfo=TZ).timestamp()) - 2 * DAY
        if not self.start <= at < self.end:
            return
        scale = 10 if company_okr else 1 if owner.member else 3
        krs: list[dict[str, Any]] = [
            {
                "id": "kr1",
                "title": "Signed contract amount",
                "target": 1_000_000 * scale,
                "metric": "contract_amount",
            },
            {
                "id": "kr2",
                "title": "Leads converted",
                "target": 5 * scale,
                "metric": "leads_converted",
            },
        ]
        if company_okr:  # a key result without a metric: checked in by hand
            krs.append({"id": "kr3", "title": "客户满意度调查 90 分以上", "target": 90})
        objective = self.rng.choice(
            [
                "Grow recurring revenue in our key regions",
                "提升大客户签约率",
                "Make every new customer a reference",
                "扩大华东制造业市场份额",
            ]
        )
        okr = self.new_record("okr")
        data = {
            "period": period,
            "owner": owner_name,
            "objective": objective,
            "key_results": krs,
            "created": self.when(at),
        }
        self.act(at, author, "okr.add", [(okr, data, owner)])
        checked = at + self.rng.randint(20, 60) * DAY
        if company_okr and checked < self.end:
            row = {**krs[2], "value": self.rng.randrange(80, 95), "checked": self.when(checked)}
            row["note"] = "季度客户满意度调查结果"
            patch = {"key_results": [*krs[:2], row]}
            self.act(checked, author, "okr.checkin", [(okr, patch, None)])

    # -- leads -------------------------------------------------------------------------------

    def make_leads(self) -> None:
        """A quarter of the leads arrive in imports, the rest one by one."""
        left, imported = self.p.leads, round(self.p.leads * 0.25)
        batch_max = 30 if self.p.sample else 300
        while imported > 0:
            size = min(imported, self.rng.randint(5, batch_max))
            self.import_leads(size)
            imported -= size
            left -= size
        for _ in range(left):
            at = self.created_time(growing=True)
            if self.rng.random() < 0.25:
                actor = self.rng.choice([self.director, *self.team_lead.values()])
                lead = self.new_lead(at, None)
                self.act(at, actor, "lead.add", [(lead, lead.meta.pop("data"), POOL)])
            else:
                owner = self.pick_owner(lead_at=at)
                lead = self.new_lead(at, owner)
                self.act(at, owner, "lead.add", [(lead, lead.meta.pop("data"), owner.owner)])
            self.lead_life(lead, at)

    def import_leads(self, size: int) -> None:
        """One ``lead.import``: by the director into the pool, or by a lead round-robin."""
        at = self.created_time(growing=True)
        source = self.rng.choice(SOURCES)
        importer = self.rng.choice([self.director, *self.team_lead.values()])
        team = [
            m
            for m in [*self.owners, *self.leavers]
            if m.team == importer.team and m.role == "rep" and (m.left or self.end) - at > 30 * DAY
        ]
        leads: list[Record] = []
        changes: list[Change] = []
        for i in range(size):
            owner = team[i % len(team)] if team else None
            lead = self.new_lead(at, owner, source)
            changes.append((lead, lead.meta.pop("data"), owner.owner if owner else POOL))
            leads.append(lead)
        self.act(at, importer, "lead.import", changes)
        for lead in leads:
            self.lead_life(lead, at)

    def new_lead(self, at: int, owner: Person | None, source: str | None = None) -> Record:
        """A new lead record; its first fields wait in ``meta['data']``."""
        rng = self.rng
        company = self.names.company()
        name, local = self.names.person(company.chinese)
        data: dict[str, Any] = {"company": company.name, "name": name}
        if rng.random() < 0.85:
            data["email"] = f"{local}@{company.domain}"
        if rng.random() < 0.8:
            data["phone"] = self.names.phone(company.chinese)
        data["source"] = source or rng.choice(SOURCES)
        data["stage"] = "new"
        data["stages"] = {"new": self.when(at)}
        if rng.random() < 0.3:
            data["tags"] = rng.sample(TAGS, rng.choice((1, 2)))
        if owner and rng.random() < 0.1 and self.teammates(owner, at):
            data["participants"] = [rng.choice(self.teammates(owner, at)).id]
        data["created"] = self.when(at)
        if rng.random() < 0.15:
            data["notes"] = rng.choice(LEAD_NOTES)
        if rng.random() < 0.3:
            data["custom"] = {"budget": rng.choice((50_000, 100_000, 200_000, 500_000))}
        lead = self.new_record("lead", company=company, contact=name, data=data)
        lead.meta["owner"] = owner
        self.leads.append(lead)
        return lead

    def lead_life(self, lead: Record, created: int) -> None:
        """Claim (if in the pool), work the stages, convert or disqualify, maybe release."""
        rng, owner = self.rng, lead.meta.pop("owner")
        if owner is None and rng.random() < 0.35:  # nobody ever picked it up
            self.talk_targets.append((lead, created + HOUR, self.end - HOUR, 0.2))
            return
        claimer = self.pick_owner(created) if owner is None else None
        leaves = (claimer or owner).left
        final = rng.choices(DEFAULT_LEAD_STAGES, (15, 30, 18, 19, 18))[0]
        if final == "converted" and (self.converted_left <= 0 or leaves):
            final = "qualified"
        path = {
            "new": [],
            "contacted": ["contacted"],
            "qualified": ["contacted", "qualified"],
            "converted": ["contacted", "qualified", "converted"],
            "disqualified": ["contacted", "disqualified"]
            if rng.random() < 0.6
            else ["disqualified"],
        }[final]
        release = bool(leaves) or (final in ("contacted", "qualified") and rng.random() < 0.12)
        count = (owner is None) + len(path) + release
        until = leaves - DAY if leaves else None
        times = iter(self.times_after(created, count, 120 * DAY, until))
        if claimer is not None:
            owner, at = claimer, next(times)
            if rng.random() < 0.5:
                self.act(
                    at, owner, "lead.claim", [(lead, {"assigned": self.when(at)}, owner.owner)]
                )
            else:
                assigned = {"assigned": self.when(at)}
                self.act(at, self.boss_of(owner), "lead.assign", [(lead, assigned, owner.owner)])
        stages = {"new": self.when(created)}
        talk_until = self.end - HOUR
        for stage in path:
            at = next(times)
            stages = {**stages, stage: self.when(at)}
            patch: dict[str, Any] = {"stage": stage, "stages": stages}
            if stage == "converted":
                talk_until = at
                self.convert(lead, patch, at, owner)
            elif stage == "disqualified":
                patch["reason"] = rng.choice(DISQUALIFY_REASONS)
                self.act(at, owner, "lead.disqualify", [(lead, patch, None)])
            else:
                self.act(at, owner, "lead.edit", [(lead, patch, None)])
        if release:
            at = next(times)
            reason = LEAVER_REASON if leaves else rng.choice(RELEASE_REASONS)
            patch = {"assigned": None, "released": self.when(at), "release_reason": reason}
            self.act(at, owner, "lead.release", [(lead, patch, POOL)])
        self.talk_targets.append((lead, created + HOUR, talk_until, 1.0))

    def convert(self, lead: Record, patch: dict[str, Any], at: int, owner: Person) -> None:
        """``lead.convert``: the lead points to a new customer that points back."""
        self.converted_left -= 1
        company: Company = lead.meta["company"]
        first = lead.steps[0].patch
        contact: dict[str, Any] = {k: first[k] for k in ("name", "phone", "email") if k in first}
        customer = self.new_record("customer", company=company, contact=first["name"])
        patch["customer"] = customer.id
        data = self.customer_fields(company, at, [contact])
        data["source"] = first["source"]
        data["lead"] = lead.id
        self.act(at, owner, "lead.convert", [(lead, patch, None), (customer, data, owner.owner)])
        self.customer_life(customer, at, owner, [contact])

    # -- customers ---------------------------------------------------------------------------

    def customer_fields(
        self, company: Company, at: int, contacts: list[dict[str, Any]]
    ) -> dict[str, Any]:
        rng = self.rng
        data: dict[str, Any] = {"name": company.name, "industry": company.industry}
        if rng.random() < 0.3:
            data["tags"] = rng.sample(TAGS, rng.choice((1, 2)))
        data["contacts"] = contacts
        data["created"] = self.when(at)
        region = rng.choice(("华东", "华北", "华南")) if company.chinese else "海外"
        data["custom"] = {
            "size": rng.choice(("small", "medium", "large", "enterprise")),
            "region": region,
        }
        return data

    def add_customer(self) -> None:
        """``customer.add``: a customer that never was a lead here."""
        at, owner = self.created_time(), self.pick_owner()
        company = self.names.company()
        contacts = [self.names.contact(company)]
        customer = self.new_record("customer", company=company, contact=contacts[0]["name"])
        data = self.customer_fields(company, at, contacts)
        if self.rng.random() < 0.5:
            data["source"] = self.rng.choice(SOURCES)
        self.act(at, owner, "customer.add", [(customer, data, owner.owner)])
        self.customer_life(customer, at, owner, contacts)

    def customer_life(
        self, customer: Record, created: int, owner: Person, contacts: list[dict[str, Any]]
    ) -> None:
        """More contacts (1-3 in all), maybe new tags, and a few go back to the pool."""
        rng = self.rng
        self.customers.append(customer)
        more = rng.choice((0, 0, 1, 1, 2))
        retag = rng.random() < 0.2
        release = rng.random() < 0.05
        times = iter(self.times_after(created, more + retag + release, 200 * DAY))
        for _ in range(more):
            contacts = [*contacts, self.names.contact(customer.meta["company"])]
            self.act(next(times), owner, "contact.add", [(customer, {"contacts": contacts}, None)])
        if retag:
            tags = {"tags": rng.sample(TAGS, rng.choice((1, 2, 3)))}
            self.act(next(times), owner, "customer.edit", [(customer, tags, None)])
        if release:
            at = next(times)
            patch = {"released": self.when(at), "release_reason": rng.choice(RELEASE_REASONS)}
            self.act(at, owner, "customer.release", [(customer, patch, POOL)])
        else:
            self.dealable.append((customer, owner, created))
        self.talk_targets.append((customer, created + HOUR, self.end - HOUR, 3.0))

    # -- deals -------------------------------------------------------------------------------

    def make_deals(self) -> None:
        """Deals on owned customers, walked through the funnel; won ones get contracts later."""
        rng = self.rng
        choices = [c for c in self.dealable if c[2] < self.end - 5 * DAY] or self.dealable
        stage_names = [s for s, _ in DEFAULT_DEAL_STAGES]  # qualify proposal negotiate won lost
        for _ in range(self.p.deals):
            customer, owner, created = rng.choice(choices)
            at = self.after(created, 1, 60, margin=3 * DAY)
            final = rng.choices(stage_names, (15, 20, 15, 30, 20))[0]
            if final == "won":
                path = stage_names[1:4]
            elif final == "lost":
                path = [*stage_names[1 : rng.randint(1, 3)], "lost"]
            else:
                path = stage_names[1 : stage_names.index(final) + 1]
            self.add_deal(customer, owner, at, path)

    def add_deal(self, customer: Record, owner: Person, at: int, path: list[str]) -> None:
        rng = self.rng
        title = rng.choice(PRODUCTS)
        if rng.random() < 0.5:
            title += f" ({rng.choice((20, 50, 120, 300))} seats)"
        stages = {"qualify": self.when(at)}
        data: dict[str, Any] = {
            "customer": customer.id,
            "title": title,
            "amount": self.amount(20_000, 2_000_000),
            "stage": "qualify",
            "stages": stages,
            "close": self.when(at + rng.randint(30, 120) * DAY),
        }
        competitors = rng.sample(COMPETITORS, rng.choice((0, 0, 1, 2)))
        if competitors:
            data["competitors"] = competitors
        data["created"] = self.when(at)
        data["custom"] = {"products": sorted(rng.sample(["crm", "erp", "bi", "support"], 2))}
        deal = self.new_record("deal", title=title, amount=data["amount"])
        self.act(at, owner, "deal.add", [(deal, data, owner.owner)])
        for stage, moved in zip(path, self.chain(at, len(path), 3, 25), strict=False):
            stages = {**stages, stage: self.when(moved)}
            patch: dict[str, Any] = {"stage": stage, "stages": stages}
            if stage == "won":
                patch.update(close=self.when(moved), reason=rng.choice(WON_REASONS))
                self.won.append((deal, customer, owner, moved))
            elif stage == "lost":
                rival = competitors[0] if competitors else rng.choice(COMPETITORS)
                patch.update(
                    close=self.when(moved),
                    competitors=competitors or [rival],
                    lost_to=rival,
                    reason=rng.choice(LOST_REASONS),
                )
            self.act(moved, owner, "deal.move", [(deal, patch, None)])

    # -- contracts ---------------------------------------------------------------------------

    def make_contracts(self) -> None:
        """Contracts for won deals first, then renewals without a deal."""
        rng = self.rng
        choices = [c for c in self.dealable if c[2] < self.end - 3 * DAY] or self.dealable
        won = self.won[:]
        rng.shuffle(won)
        for i in range(self.p.contracts):
            if i < len(won):
                deal, customer, owner, at = won[i]
                signed = self.after(at, 0.1, 10)
                title = deal.meta["title"] + rng.choice((" contract", " 合同"))
                self.add_contract(customer, owner, signed, deal.meta["amount"], title, deal)
            else:
                customer, owner, created = rng.choice(choices)
                signed = self.after(created, 10, 400)
                year = self.when(signed).year
                title = rng.choice((f"Annual support renewal {year}", f"{year} 年度服务续约"))
                self.add_contract(customer, owner, signed, self.amount(10_000, 300_000), title)

    def add_contract(
        self,
        customer: Record,
        owner: Person,
        at: int,
        amount: Decimal,
        title: str,
        deal: Record | None = None,
    ) -> None:
        """``contract.add`` (signed: with the won-deal checklist), activation, then money."""
        rng = self.rng
        signed = self.when(at)
        if deal is None or rng.random() < 0.4:  # renewals start with the next quarter
            months = 3 - (signed.month - 1) % 3 if deal is None else 1
            month = signed.month - 1 + months
            starts = dt.date(signed.year + month // 12, month % 12 + 1, 1)
        else:
            starts = signed + dt.timedelta(days=rng.randint(0, 14))
        term = rng.choice((91, 182, 182, 365, 365, 730))
        count = rng.choice((1, 2, 3, 4))
        due = [signed + dt.timedelta(days=7 + i * term // count) for i in range(count)]
        amounts = split(amount, count, rng)
        plan = [{"due": d, "amount": a} for d, a in zip(due, amounts, strict=True)]
        data: dict[str, Any] = {"customer": customer.id}
        if deal:
            data["deal"] = deal.id
        data.update(
            title=title,
            amount=amount,
            signed=signed,
            starts=starts,
            ends=starts + dt.timedelta(days=term - 1),
            status="signed",
            plan=plan,
            created=signed,
        )
        contract = self.new_record("contract", title=title)
        tasks = self.checklist(contract, owner, at, signed)
        changes = [(contract, data, owner.owner)] + [(t, t.meta.pop("data"), None) for t in tasks]
        self.act(at, owner, "contract.add", changes)
        money = self.money_plan(plan, at)
        closes = self.closing_time(money, amount)
        start_at: int | None = max(self.at_nine(starts) + rng.randrange(8 * HOUR), at + MINUTE)
        if start_at is not None and start_at < self.end and (closes is None or start_at < closes):
            self.act(start_at, owner, "contract.activate", [(contract, {"status": "active"}, None)])
        else:
            start_at = None
        finished = self.record_money(contract, owner, money, amount, tasks)
        self.work_checklist(tasks, at, start_at, finished)

    def at_nine(self, day: dt.date) -> int:
        return int(dt.datetime(day.year, day.month, day.day, 9, tzinfo=TZ).timestamp())

    def money_plan(self, plan: list[dict[str, Any]], signed: int) -> list[tuple[int, str, Decimal]]:
        """(when, "payment" or "invoice", amount) for instalments that fell due by today:
        mostly invoiced a few days ahead and paid around the due date; some are late."""
        rng, money = self.rng, []
        for row in plan:
            due = self.at_nine(row["due"]) + rng.randrange(9 * HOUR)
            pay_at = max(signed + HOUR, due + rng.randint(-5, 25) * DAY)
            invoice_at = max(signed + HOUR, pay_at - rng.randint(0, 5) * DAY - HOUR)
            if invoice_at < self.end and rng.random() < 0.9:
                money.append((invoice_at, "invoice", row["amount"]))
            if pay_at < self.end and rng.random() < 0.88:
                partial = rng.random() < 0.1
                paid = normal(row["amount"] / 2) if partial else row["amount"]
                money.append((pay_at, "payment", paid))
        return sorted(money)

    def closing_time(self, money: list[tuple[int, str, Decimal]], total: Decimal) -> int | None:
        """When the contract is both fully paid and fully invoiced, if it is by today."""
        sums = {"payment": Decimal(0), "invoice": Decimal(0)}
        for when, kind, amount in money:
            sums[kind] += amount
            if sums["payment"] == total == sums["invoice"]:
                return when
        return None

    def record_money(
        self,
        contract: Record,
        owner: Person,
        money: list[tuple[int, str, Decimal]],
        total: Decimal,
        tasks: list[Record],
    ) -> dict[Record, int]:
        """``contract.pay`` / ``contract.invoice`` by finance. The entry that completes an
        amount also completes its checklist step, and the one that completes both closes the
        contract, in the same commit. Returns when each such step was done."""
        sums = {"payment": Decimal(0), "invoice": Decimal(0)}
        step = {"payment": tasks[2], "invoice": tasks[4]}  # Collect payment, Issue invoice
        finished: dict[Record, int] = {}
        for when, kind, amount in money:
            author = self.staff(self.finance, when, owner)
            entry = self.new_record(kind, contract)
            day = self.when(when)
            data: dict[str, Any] = {"contract": contract.id, "date": day, "amount": amount}
            if kind == "payment":
                bank = self.rng.choice(("ICBC", "CMB", "BOC", "招商银行"))
                data["ref"] = f"{bank} {day:%Y%m%d}-{self.rng.randint(1000, 9999)}"
            else:
                self.invoices += 1
                data["number"] = f"INV-{day.year}-{self.invoices:06d}"
            data["author"] = author.id
            changes: list[Change] = [(entry, data, None)]
            sums[kind] += amount
            if sums[kind] == total:
                changes.append((step[kind], {"status": "done"}, None))
                finished[step[kind]] = when
                if sums["payment"] == sums["invoice"]:
                    changes.append((contract, {"status": "closed"}, None))
            action = "contract.pay" if kind == "payment" else "contract.invoice"
            self.act(when, author, action, changes)
        return finished

    def checklist(self, contract: Record, owner: Person, at: int, signed: dt.date) -> list[Record]:
        """The won-deal checklist of ``WON_DEAL_TASKS``: a parent task and one subtask per
        step, each for a member of its role (the owner when nobody has it)."""
        created = self.when(at)
        parent = self.new_record("task", contract, assignee=owner)
        parent.meta["data"] = {
            "title": f"Won-deal checklist: {contract.meta['title']}",
            "assignee": owner.id,
            "status": "todo",
            "record": contract.id,
            "role": "owner",
            "created": created,
        }
        tasks = [parent]
        for step in WON_DEAL_TASKS:
            role = step["role"]
            staff = self.finance if role == "finance" else self.service if role == "service" else []
            person = self.staff(staff, at, owner)
            task = self.new_record("task", contract, assignee=person)
            task.meta["data"] = {
                "title": step["title"],
                "assignee": person.id,
                "status": "todo",
                "due": signed + dt.timedelta(days=step["due_days"]),
                "parent": parent.id,
                "record": contract.id,
                "role": role,
                "done_when": step.get("done_when"),
                "created": created,
            }
            if task.meta["data"]["done_when"] is None:
                del task.meta["data"]["done_when"]
            tasks.append(task)
        return tasks

    def work_checklist(
        self, tasks: list[Record], signed: int, start_at: int | None, finished: dict[Record, int]
    ) -> None:
        """Tick off the steps people do (money does its own) and then the whole checklist."""
        rng = self.rng
        parent, send, _collect, activate, _invoice = tasks
        done = dict(finished)
        sent = signed + rng.randint(1, 3) * DAY
        if sent < self.end:
            self.act(sent, send.meta["assignee"], "task.done", [(send, {"status": "done"}, None)])
            done[send] = sent
        if start_at is not None:
            service = activate.meta["assignee"]
            if signed < start_at - DAY:
                self.act(
                    start_at - DAY, service, "task.start", [(activate, {"status": "doing"}, None)]
                )
            active = start_at + rng.randrange(HOUR, 2 * DAY)
            if active < self.end:
                self.act(active, service, "task.done", [(activate, {"status": "done"}, None)])
                done[activate] = active
        if len(done) == 4 and max(done.values()) + HOUR < self.end:
            closing = [(parent, {"status": "done"}, None)]
            self.act(max(done.values()) + HOUR, parent.meta["assignee"], "task.done", closing)

    # -- follow-ups and visits ---------------------------------------------------------------

    def talk_windows(self) -> tuple[list[tuple[Record, int, int]], list[float]]:
        """Who can be followed up when (within the recent window for the sample)."""
        windows, weights = [], []
        for record, lo, hi, weight in self.talk_targets:
            lo = max(lo, self.recent)
            if hi - lo > 2 * HOUR:
                windows.append((record, lo, hi))
                weights.append(weight)
        if not windows and (self.p.followups or self.p.visits):
            raise SystemExit("error: no lead or customer is old enough to follow up")
        return windows, weights

    def author_at(self, record: Record, at: int) -> Person:
        """The owner, sometimes their team lead; for pool records a team lead or the director.

        Only people whose write scope covers the record, so ``salesctl check`` passes.
        """
        owner = self.owner_at(record, at)
        if owner.member is None:
            return self.rng.choice([self.director, *self.team_lead.values()])
        person = self.by_id[owner.member]
        return self.boss_of(person) if self.rng.random() < 0.15 else person

    def in_charge(self, record: Record, at: int, person: Person) -> Person:
        """``person`` if their write scope still covers ``record`` at ``at`` (it may have
        changed hands since they planned something), else its owner or the director."""
        owner = self.owner_at(record, at)
        scope = {"director": True, "lead": owner.is_pool or owner.team == person.team}
        if scope.get(person.role, owner.member == person.id):
            return person
        return self.by_id[owner.member] if owner.member else self.director

    def talks(self, count: int) -> Iterator[tuple[Record, int, Person]]:
        """``count`` moments someone talks with a lead or customer: (record, when, who)."""
        windows, weights = self.talk_windows()
        if not count:
            return
        for index in self.rng.choices(range(len(windows)), weights, k=count):
            record, lo, hi = windows[index]
            at = self.between(lo, hi)
            yield record, at, self.author_at(record, at)

    def make_followups(self) -> None:
        rng = self.rng
        for record, at, author in self.talks(self.p.followups):
            chinese = record.meta["company"].chinese
            via, text = rng.choice(FOLLOWUPS_ZH if chinese else FOLLOWUPS_EN)
            text = text.format(
                name=record.meta["contact"],
                product=rng.choice(PRODUCTS),
                competitor=rng.choice(COMPETITORS),
                date=self.when(at + 7 * DAY),
            )
            data: dict[str, Any] = {
                "record": record.id,
                "author": author.id,
                "at": self.moment(at),
                "via": via,
            }
            mates = self.teammates(author, at) if rng.random() < 0.2 else []
            if mates:
                mate = rng.choice(mates)
                text += (MENTION_ZH if chinese else MENTION_EN).format(m=mate.id)
            data["text"] = text
            if mates:
                data["mentions"] = [mate.id]
            if rng.random() < 0.4:
                data["next"] = self.when(at + rng.randint(2, 14) * DAY)
            followup = self.new_record("followup", record)
            self.act(at, author, "followup.add", [(followup, data, None)])

    def make_visits(self) -> None:
        """Visits planned a few days ahead; those in the past are done or cancelled."""
        rng = self.rng
        for record, planned, author in self.talks(self.p.visits):
            day = self.when(planned + rng.randint(1, 10) * DAY)
            at = self.at_nine(day) + rng.choice((1, 5)) * HOUR + rng.choice((0, 30)) * MINUTE
            hours = rng.choice((1, 2))
            attendees = [author.id] + [m.id for m in self.teammates(author, planned)[:1]]
            city = record.meta["company"].name[:2] if record.meta["company"].chinese else ""
            data = {
                "record": record.id,
                "author": author.id,
                "at": self.moment(at),
                "duration": f"{hours}h",
                "place": f"{city}客户办公室" if city else "Customer office",
                "attendees": attendees,
                "status": "planned",
                "note": rng.choice(VISIT_AGENDA),
            }
            visit = self.new_record("visit", record)
            self.act(planned, author, "visit.add", [(visit, data, None)])
            if at + hours * HOUR < self.end:
                done = rng.random() < 0.85
                patch = {"status": "done" if done else "cancelled"}
                patch["text"] = rng.choice(VISIT_OUTCOME if done else VISIT_CANCELLED)
                action = "visit.done" if done else "visit.cancel"
                closer = self.in_charge(record, at + hours * HOUR, author)
                self.act(at + hours * HOUR, closer, action, [(visit, patch, None)])

    # -- filler edits ------------------------------------------------------------------------

    def add_edits(self, count: int) -> None:
        """Note edits on leads and customers, when more commits are wanted than events exist."""
        rng, candidates = self.rng, self.leads + self.customers
        for _ in range(count):
            for _attempt in range(50):
                record = rng.choice(candidates) if candidates else None
                if record is None:
                    break
                action = f"{record.kind.name}.edit"
                rank = RANK[action]
                lo = max(s.at for s in record.steps if RANK[s.action] < rank)
                hi = min((s.at for s in record.steps if RANK[s.action] > rank), default=self.end)
                if hi - lo > 4 * MINUTE:
                    break
            else:
                record = None
            if record is None:
                raise SystemExit("error: too few records for that many --commits")
            at = self.between(lo + MINUTE, hi - MINUTE)
            owner = self.owner_at(record, at)
            actor = self.by_id[owner.member] if owner.member else self.director
            step = Step(record, at, action, {"notes": rng.choice(EDIT_NOTES)})
            record.steps.insert(bisect.bisect_right(record.steps, at, key=lambda s: s.at), step)
            self.seq += 1
            self.events.append(Event(at, self.seq, actor, action, [step]))
        self.events.sort(key=lambda e: (e.at, e.seq))


def split(amount: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """``amount`` in ``parts`` instalments (cut at whole hundreds) that sum to it exactly."""
    cents = int(amount * 100)
    weights = [rng.randint(2, 5) for _ in range(parts)]
    bounds, running = [0], 0
    for weight in weights[:-1]:
        running += weight
        bounds.append(cents * running // sum(weights) // 10000 * 10000)
    bounds.append(cents)
    return [normal(Decimal(bounds[i + 1] - bounds[i]) / 100) for i in range(parts)]


def normal(amount: Decimal) -> Decimal:
    """The canonical form ``values.coerce_amount`` gives: whole, or exactly two decimals."""
    return amount.quantize(Decimal("0.01")) if amount % 1 else amount.quantize(Decimal(1))


# ---------------------------------------------------------------------------------------------
# Commits
# ---------------------------------------------------------------------------------------------


@dataclass
class Commit:
    """One planned commit: who makes it, when, as which action, with which events."""

    at: int
    actor: Person
    action: str
    events: list[Event]


WINDOWS = (1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 61, 91, 122, 182, 365, 730, None)  # days
BatchKey = tuple[int, float, int, str]  # (period, slot, action rank, member or team)


def plan_commits(
    events: list[Event], budget: int, start: int, leads: dict[str, Person], director: Person
) -> list[Commit]:
    """Cut time-ordered events into exactly ``budget`` commits (``len(events) >= budget``).

    The latest events become one commit each, made by the member who acted. Earlier events
    are batched per period, action and member, as if synced from a previous CRM, with the
    shortest period that leaves 40% of the commits single (or at least fits); a batch's
    date is spread over its period. Only when that cannot fit are batches made per team (the
    team lead commits them), and then per action alone or just by time (the director commits
    those: only a director's write scope covers everybody's records).
    """
    total = len(events)
    if total <= budget:
        return [Commit(e.at, e.actor, e.action, [e]) for e in events]
    for by in ("member", "team", ""):
        for limit in (budget * 6 // 10, budget):
            found = _shortest_period(events, start, by, limit)
            if found:
                days, keys, distinct = found
                by_whom = {"member": None, "team": leads, "": director}[by]
                return _batch(events, keys, distinct, budget, start, days, by_whom)
    cuts = [events[i * total // budget : (i + 1) * total // budget] for i in range(budget)]
    return [Commit(chunk[-1].at, director, _most_common(chunk)[1], chunk) for chunk in cuts]


def _shortest_period(
    events: list[Event], start: int, by: str, limit: int
) -> tuple[int | None, list[BatchKey], list[int]] | None:
    """The shortest of ``WINDOWS`` whose batches number at most ``limit`` (binary search:
    longer periods never make more batches), with each event's batch key and the running
    count of batches (``distinct[p]``: batches among the first ``p`` events)."""

    slots = [_slot(e) for e in events]

    def batches(days: int | None) -> tuple[list[BatchKey], list[int]]:
        keys = [
            (
                (e.at - start) // (days * DAY) if days else 0,
                slot,
                RANK[e.action],
                e.actor.id if by == "member" else (e.actor.team or e.actor.id) if by else "",
            )
            for e, slot in zip(events, slots, strict=True)
        ]
        distinct, seen = [0], set()
        for key in keys:
            seen.add(key)
            distinct.append(len(seen))
        return keys, distinct

    lo, hi, best = 0, len(WINDOWS) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        keys, distinct = batches(WINDOWS[mid])
        if distinct[-1] <= limit:
            best, hi = (WINDOWS[mid], keys, distinct), mid - 1
        else:
            lo = mid + 1
    return best


def _batch(
    events: list[Event],
    keys: list[BatchKey],
    distinct: list[int],
    budget: int,
    start: int,
    days: int | None,
    by_whom: Person | dict[str, Person] | None,
) -> list[Commit]:
    """Batch the first ``p`` events and keep the rest single, so that the total is ``budget``.

    Each event moved from single to batched lowers the count by one or zero, so some ``p``
    hits the budget exactly. ``by_whom`` commits the batches: ``None``, the member who
    acted; team leads by team id (batches per team); one member (batches of anybody's).
    """
    total = len(events)
    p = total
    while (total - p) + distinct[p] != budget:
        p -= 1
    batches: dict[BatchKey, list[Event]] = {}
    for event, key in zip(events[:p], keys[:p], strict=True):
        batches.setdefault(key, []).append(event)
    singles_from = events[p].at if p < total else events[-1].at + 1
    windows: dict[int, list[BatchKey]] = {}
    for key in sorted(batches):
        windows.setdefault(key[0], []).append(key)
    commits = []
    for window, window_keys in windows.items():
        lo = start + window * days * DAY if days else events[0].at
        hi = min(lo + days * DAY, singles_from) if days else singles_from
        for i, key in enumerate(window_keys, 1):
            batch = batches[key]
            actor, action = _most_common(batch)
            if isinstance(by_whom, Person):
                actor = by_whom
            elif by_whom is not None and actor.team == key[3] and key[3] in by_whom:
                actor = by_whom[key[3]]  # the team's lead (teamless members batch their own)
            commits.append(
                Commit(lo + (hi - lo) * i // (len(window_keys) + 1), actor, action, batch)
            )
    return commits + [Commit(e.at, e.actor, e.action, [e]) for e in events[p:]]


def _slot(event: Event) -> float:
    """Where an event's batch goes within its period: by its action (see ``ACTIONS``), but
    a follow-up or visit goes right after the batch that gave its lead or customer the owner
    it had then, so it is written to that owner's directory by someone allowed to."""
    record = event.steps[0].record if event.steps else None
    parent = record.parent if record and record.kind.name in ("followup", "visit") else None
    if parent is not None:
        i = bisect.bisect_right(parent.owners, event.at, key=lambda change: change[0])
        return RANK[parent.owners[i - 1][2]] + 0.5
    return RANK[event.action]


def _most_common(events: list[Event]) -> tuple[Person, str]:
    """The member who acted most and the commonest action among ``events``."""
    actors = Counter(e.actor.id for e in events).most_common(1)[0][0]
    action = Counter(e.action for e in events).most_common(1)[0][0]
    return next(e.actor for e in events if e.actor.id == actors), action


def describe(record: Record) -> str:
    """A short human label for a commit summary."""
    data = record.data or {}
    if record.kind.name in ("followup", "visit", "payment", "invoice", "task") and record.parent:
        label = f"on {record.parent.id}"
        if "amount" in data:
            label = f"{data['amount']} {label}"
        elif "title" in data:
            label = f"{data['title']} {label}"
    else:
        label = str(
            data.get("company")
            or data.get("name")
            or data.get("title")
            or data.get("objective")
            or ""
        )
    return label if len(label) <= 60 else label[:57] + "..."


def commit_message(action: str, touched: list[Record]) -> str:
    """Summary line, blank line, ``Salesctl-Action`` and one ``Salesctl-Record`` per record."""
    ids: dict[str, None] = {}
    for record in touched:
        if record.parent:
            ids[record.parent.id] = None
        ids[record.id] = None
    first = touched[0]
    same = [r for r in touched if r.kind is first.kind]
    if len(same) == 1:
        summary = f"{action}: {first.id} ({describe(first)})"
    else:
        summary = f"{action}: {len(same)} {first.kind.plural} ({first.id}, ...)"
    trailers = "".join(f"Salesctl-Record: {i}\n" for i in ids)
    return f"{summary}\n\nSalesctl-Action: {action}\n{trailers}"


def render(record: Record) -> bytes:
    """The record's YAML file, fields in the kind's order, written by ``yamlio.dumps``."""
    data = record.data or {}
    ordered: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    for name in FIELD_ORDER[record.kind.name]:
        if name in data:
            ordered[name] = data[name]
    return yamlio.dumps(ordered).encode()


class Stopwatch:
    """Seconds spent per phase, for ``--verbose``."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 1)
        self.last = now


class FileSink:
    """No history: only the final files are written (``--no-git``)."""

    keeps_history = False

    def __init__(self, out: Path) -> None:
        self.out = out
        self.commits = 0

    def blob(self, content: bytes) -> bytes:
        return content

    def commit(self, person: Person, at: int, message: str, ops: dict[str, Any]) -> None:
        pass

    def finish(self, config: bytes, world: World) -> int:
        """Write ``salesctl.yaml`` and every record's final file; returns the file count."""
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "salesctl.yaml").write_bytes(config)
        files = 1
        for record in world.records:
            for rel, content in record.files.items():
                assert record.dir is not None
                path = self.out / record.dir / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                files += 1
        return files


class GitSink:
    """Streams blobs and commits into one ``git fast-import`` process.

    A thread feeds the process from a queue, so neither side waits for the other's slow
    moments (a big batch to render here, a big directory to rewrite there).
    """

    keeps_history = True

    def __init__(self, out: Path, env: dict[str, str], watch: Stopwatch) -> None:
        self.out, self.env, self.watch = out, env, watch
        git(out.parent, "init", "-q", "-b", "main", str(out), env=env)
        self.proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"], cwd=out, stdin=subprocess.PIPE, env=env
        )
        self.buf = bytearray()
        self.marks = 0
        self.commits = 0
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=2048)  # about 2 GB at most
        self.broken: OSError | None = None
        self.feeder = threading.Thread(target=self.feed, daemon=True)
        self.feeder.start()

    def feed(self) -> None:
        assert self.proc.stdin is not None
        while (chunk := self.chunks.get()) is not None:
            if self.broken is None:
                try:
                    self.proc.stdin.write(chunk)
                except OSError as exc:  # fast-import died; its own message is on stderr
                    self.broken = exc
        with contextlib.suppress(OSError):
            self.proc.stdin.close()

    def blob(self, content: bytes) -> int:
        self.marks += 1
        self.buf += b"blob\nmark :%d\ndata %d\n%s\n" % (self.marks, len(content), content)
        return self.marks

    def commit(self, person: Person, at: int, message: str, ops: dict[str, Any]) -> None:
        ident = f"{person.name} <{person.email}> {at} {GIT_TZ}".encode()
        text = message.encode()
        buf = self.buf
        buf += b"commit refs/heads/main\nauthor %s\ncommitter %s\ndata %d\n%s\n" % (
            ident,
            ident,
            len(text),
            text,
        )
        for path, mark in ops.items():
            if mark is None:
                buf += b"D %s\n" % path.encode()
            else:
                buf += b"M 100644 :%d %s\n" % (mark, path.encode())
        buf += b"\n"
        self.commits += 1
        if len(buf) > 1 << 20:
            self.chunks.put(bytes(buf))
            buf.clear()

    def finish(self, config: bytes, world: World) -> int:
        """End the stream; then check out HEAD while the commit-graph is written."""
        self.buf += b"done\n"
        self.chunks.put(bytes(self.buf))
        self.chunks.put(None)
        self.watch.lap("generate history")
        self.feeder.join()
        if self.proc.wait() != 0 or self.broken:
            raise SystemExit(f"error: git fast-import failed ({self.proc.returncode})")
        self.watch.lap("wait for fast-import")
        graph = subprocess.Popen(
            ["git", "commit-graph", "write", "--reachable", "--changed-paths"],
            cwd=self.out,
            env=self.env,
            stdout=subprocess.DEVNULL,
        )
        git(
            self.out, "-c", "checkout.workers=0", "read-tree", "--reset", "-u", "HEAD", env=self.env
        )
        self.watch.lap("check out")
        if graph.wait() != 0:
            raise SystemExit("error: git commit-graph write failed")
        git(self.out, "config", "core.commitGraph", "true", env=self.env)
        self.watch.lap("commit-graph")
        return 1 + sum(len(record.files) for record in world.records)


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        problem = (result.stderr or result.stdout).strip()
        raise SystemExit(f"error: git {args[0]} failed: {problem}")
    return result.stdout


def git_env() -> dict[str, str]:
    """The caller's environment without GIT_* leaks, user or system config; fixed locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0", LC_ALL="C"
    )
    return env


def replay(world: World, commits: list[Commit], sink: FileSink | GitSink) -> int:
    """Apply the commits in order, feeding ``sink``; returns the number of files."""

    def config(as_of: int) -> bytes:
        return yamlio.dumps(world.config(as_of)).encode()

    at = world.start - DAY
    if isinstance(sink, GitSink):
        message = "config.init: salesctl.yaml\n\nSalesctl-Action: config.init\n"
        sink.commit(world.director, at, message, {"salesctl.yaml": sink.blob(config(at))})
    for commit in commits:
        at = max(at + 1, commit.at)
        touched, ops = apply_group(commit.events, sink)
        gone = [e.config_as_of for e in commit.events if e.config_as_of is not None]
        if gone:
            ops["salesctl.yaml"] = sink.blob(config(max(gone)))
        if sink.keeps_history:
            if at >= world.end:
                raise AssertionError(f"commit {commit.action} dated on or after --today")
            if touched:
                message = commit_message(commit.action, touched)
            else:
                names = ", ".join(m.id for m in world.leavers if m.left in gone)
                message = f"config.edit: salesctl.yaml ({names} left)\n\n"
                message += "Salesctl-Action: config.edit\n"
            sink.commit(commit.actor, at, message, ops)
        for record in touched:
            if record.applied == len(record.steps):
                record.data = None  # done: free the memory
    return sink.finish(config(world.end), world)


def apply_group(
    group: list[Event], sink: FileSink | GitSink
) -> tuple[list[Record], dict[str, Any]]:
    """Apply one commit's steps; returns the records touched and the paths to write/delete."""
    touched: dict[Record, bool] = {}  # record -> content changed
    for event in group:
        for step in event.steps:
            record = step.record
            if record.steps[record.applied] is not step:
                raise AssertionError(f"{record.id}: steps replayed out of order")
            record.applied += 1
            if record.data is None:
                record.data = {}
            for key, value in step.patch.items():  # None: the field goes
                if value is None:
                    record.data.pop(key, None)
                else:
                    record.data[key] = value
            if step.owner is not None:
                record.owner_now = step.owner
            touched[record] = touched.get(record, False) or bool(step.patch)
    ops: dict[str, Any] = {}
    for record, changed in touched.items():  # top-level records first: children follow them
        if record.parent is None:
            assert record.owner_now is not None
            new_dir = record_dir(record.owner_now, record.kind, record.id)
            if record.dir is not None and record.dir != new_dir:
                for rel, blob in record.files.items():
                    ops[f"{record.dir}/{rel}"] = None
                    ops[f"{new_dir}/{rel}"] = blob
            record.dir = new_dir
            if changed:
                blob = record.files[record.kind.file_name] = sink.blob(render(record))
                ops[f"{new_dir}/{record.kind.file_name}"] = blob
    for record in touched:
        parent = record.parent
        if parent is not None:
            assert parent.dir is not None
            path = child_file(parent.dir, record.kind, record.id)
            blob = parent.files[path[len(parent.dir) + 1 :]] = sink.blob(render(record))
            ops[path] = blob
    return list(touched), ops


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

COUNT_NAMES = (
    "leads",
    "customers",
    "deals",
    "contracts",
    "followups",
    "visits",
    "members",
    "teams",
    "commits",
)
SAMPLE_COUNTS = {
    "leads": 300,
    "customers": 60,
    "deals": 40,
    "contracts": 20,
    "followups": 240,
    "visits": 10,
    "members": len(SAMPLE_MEMBERS),
    "teams": 3,
    "commits": 150,
}
BENCH_COUNTS = {
    "leads": 1000,
    "customers": 200,
    "contracts": 50,
    "followups": 2000,
    "members": 20,
    "teams": 4,
    "commits": 100,
}


def parse_args(argv: list[str] | None = None) -> tuple[Params, Path]:
    """The command line as ``Params`` and the output directory."""
    parser = argparse.ArgumentParser(
        description="Generate a synthetic salesctl store (deterministic for a given seed).",
        epilog="example: python bench/generate.py --leads 5000 --commits 2000 /tmp/store",
    )
    for name in COUNT_NAMES:
        derived = {"deals": "2x contracts", "visits": "followups/25"}
        default = BENCH_COUNTS[name] if name in BENCH_COUNTS else derived[name]
        sample = SAMPLE_COUNTS[name] if name not in ("members", "teams") else "curated"
        parser.add_argument(
            f"--{name}", type=int, metavar="N", help=f"default {default}; --sample: {sample}"
        )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=DEFAULT_TODAY,
        metavar="YYYY-MM-DD",
        help="history ends the day before (%(default)s)",
    )
    parser.add_argument(
        "--sample", action="store_true", help="the curated bundled sample (implies --no-git)"
    )
    parser.add_argument(
        "--git",
        dest="git",
        action="store_true",
        default=None,
        help="build git history (the default without --sample)",
    )
    parser.add_argument("--no-git", dest="git", action="store_false")
    parser.add_argument("--verbose", action="store_true", help="print the time of each phase")
    parser.add_argument("out", type=Path, metavar="OUT", help="a new or empty directory")
    args = parser.parse_args(argv)
    counts = dict(SAMPLE_COUNTS if args.sample else BENCH_COUNTS)
    counts.update({n: getattr(args, n) for n in COUNT_NAMES if getattr(args, n) is not None})
    counts.setdefault("deals", 2 * counts["contracts"])
    counts.setdefault("visits", counts["followups"] // 25)
    if any(v < 0 for v in counts.values()):
        parser.error("counts must not be negative")
    support = max(1, counts["members"] // 40)
    if not args.sample and (
        counts["teams"] < 1 or counts["members"] < 2 + 2 * support + counts["teams"]
    ):
        parser.error(
            "need --teams >= 1 and --members for a director, finance, service, "
            "a lead per team and a rep"
        )
    with_git = (not args.sample) if args.git is None else args.git
    if with_git and counts["commits"] < 2:
        parser.error("--commits must be at least 2 (the first one adds salesctl.yaml)")
    params = Params(
        **counts,
        seed=args.seed,
        today=args.today,
        git=with_git,
        sample=args.sample,
        span_days=2 * 365 if args.sample else 3 * 365,
        recent_days=56 if args.sample else None,
        verbose=args.verbose,
    )
    return params, args.out


def generate(params: Params, out: Path, watch: Stopwatch | None = None) -> dict[str, Any]:
    """Build the store at ``out`` (which must be missing or empty); returns a summary."""
    started = time.perf_counter()
    watch = watch or Stopwatch()
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"error: {out} is not empty")
    world = World(params)
    world.build()
    watch.lap("invent records")
    sink: FileSink | GitSink
    if params.git:
        budget = params.commits - 1
        if len(world.events) < budget:
            world.add_edits(budget - len(world.events))
        leads = {team: person for team, person in world.team_lead.items() if team}
        commits = plan_commits(world.events, budget, world.start, leads, world.director)
        watch.lap("plan commits")
        out.mkdir(parents=True, exist_ok=True)
        sink = GitSink(out, git_env(), watch)
    else:
        commits = [Commit(world.end - 1, world.director, "", world.events)]
        sink = FileSink(out)
    files = replay(world, commits, sink)
    kinds = Counter(r.kind.plural for r in world.records + world.children)
    summary: dict[str, Any] = {"files": files, **kinds}
    if isinstance(sink, GitSink):
        summary["commits"] = sink.commits
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


def main(argv: list[str] | None = None) -> int:
    params, out = parse_args(argv)
    watch = Stopwatch()
    summary = generate(params, out, watch)
    parts = ", ".join(f"{v} {k}" for k, v in summary.items() if k != "seconds")
    print(f"generated {out}: {parts} in {summary['seconds']}s")
    if params.verbose:
        print("  " + ", ".join(f"{name} {sec}s" for name, sec in watch.laps.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
