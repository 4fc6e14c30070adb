"""Demo data for ``gridbot seed --demo``: part of Yantai's Muping district with people in
every role, and a few residents who volunteer as 幸福合伙人, so the bot (and the browser
sandbox that plays these people) can be tried without a real roll-out. Seeding again
changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.council import (
    TOPIC_NEWS,
    CouncilPolicy,
    CouncilService,
    CouncilSettings,
    Meeting,
    Topic,
    TopicState,
)
from storage.council.rules import rsvp_open, topics_open
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.onboarding.importer import ImportRow, import_rows
from storage.partners import (
    CallState,
    Origin,
    Partner,
    PartnerState,
    RecruitmentCall,
    Team,
    TeamMember,
)
from storage.roles import Role, StaffRepo
from storage.users import User

# Far below real Telegram ids handed out today, and one block, so the sandbox (and a
# cleanup) can tell demo people from real ones.
DEMO_USER_ID_BASE = 9_000_000

DISTRICT = ("MP", "烟台市牟平区")
STREETS = (("MP-NH", "宁海街道"), ("MP-WH", "文化街道"))
# (street code, community code, name)
COMMUNITIES = (
    ("MP-NH", "MP-NH-TH", "通海社区"),
    ("MP-NH", "MP-NH-ZY", "正阳社区"),
    ("MP-NH", "MP-NH-BG", "北关社区"),
    ("MP-WH", "MP-WH-WH", "文化社区"),
    ("MP-WH", "MP-WH-DG", "东关社区"),
)
GRIDS = (("G1", "第一网格"), ("G2", "第二网格"))

ROLE_BY_NAME: dict[str, Role] = {role.value: role for role in Role}


@dataclass(frozen=True)
class DemoPartner:
    """A resident's 幸福合伙人 standing: approved (takes orders of these skills in the
    community of their building) or an application still waiting for community staff."""

    skills: tuple[str, ...]
    approved: bool = True
    availability: tuple[str, ...] = ()
    intro: str = ""


@dataclass(frozen=True)
class Persona:
    user_id: int
    name: str
    role: str  # "resident" or a Role value
    building_code: str | None
    scope_code: str | None  # the node the role is granted at; None: resident / global admin
    phone: str | None
    language: str = "zh"
    # A partner is not a role: they stay residents ("resident"), with this on top.
    partner: DemoPartner | None = None


def _grid_code(community: str, grid: str) -> str:
    return f"{community}-{grid}"


def _building_code(community: str, grid: str, number: int) -> str:
    return f"{_grid_code(community, grid)}-B{number}"


def _buildings_in_grid(community_index: int, grid_index: int) -> int:
    # Alternating 4 and 3 buildings: realistic unevenness, still deterministic.
    return 4 if (community_index + grid_index) % 2 == 0 else 3


def demo_rows() -> list[ImportRow]:
    rows: list[ImportRow] = []

    def add(kind: NodeKind, code: str, name: str, parent: str | None, hh: int | None) -> None:
        rows.append(ImportRow(len(rows) + 1, kind, code, name, parent, hh))

    add(NodeKind.DISTRICT, DISTRICT[0], DISTRICT[1], None, None)
    for code, name in STREETS:
        add(NodeKind.STREET, code, name, DISTRICT[0], None)
    for c_index, (street, community, c_name) in enumerate(COMMUNITIES):
        add(NodeKind.COMMUNITY, community, c_name, street, None)
        number = 0  # building numbers run on across a community's grids, as on the street
        for g_index, (grid, g_name) in enumerate(GRIDS):
            add(NodeKind.GRID, _grid_code(community, grid), g_name, community, None)
            for _ in range(_buildings_in_grid(c_index, g_index)):
                number += 1
                households = 48 + (c_index * 7 + g_index * 5 + number * 11) % 33  # 48..80
                add(
                    NodeKind.BUILDING,
                    _building_code(community, grid, number),
                    f"{number}号楼",
                    _grid_code(community, grid),
                    households,
                )
    return rows


def _personas() -> list[Persona]:
    people: list[Persona] = []

    def add(
        name: str, role: str, building: str, scope: str | None, partner: DemoPartner | None = None
    ) -> None:
        n = len(people) + 1
        people.append(
            Persona(
                user_id=DEMO_USER_ID_BASE + n,
                name=name,
                role=str(role),
                building_code=building,
                scope_code=scope,
                phone=f"+86138{n:08d}",
                partner=partner,
            )
        )

    th, zy, bg, wh, dg = (c[1] for c in COMMUNITIES)
    # Residents first: the sandbox opens as 9000001, an ordinary resident.
    add("王秀英", "resident", _building_code(th, "G1", 1), None)
    add("李建国", "resident", _building_code(th, "G2", 5), None)
    add("张桂兰", "resident", _building_code(zy, "G1", 2), None)
    add("刘志强", "resident", _building_code(wh, "G1", 3), None)
    add("陈淑珍", "resident", _building_code(dg, "G2", 6), None)
    add("杨明", "resident", _building_code(bg, "G1", 1), None)
    # One grid worker per grid of the first two communities, living in their grid.
    add("赵丽娟", Role.WORKER, _building_code(th, "G1", 2), _grid_code(th, "G1"))
    add("孙海涛", Role.WORKER, _building_code(th, "G2", 6), _grid_code(th, "G2"))
    add("周晓燕", Role.WORKER, _building_code(zy, "G1", 1), _grid_code(zy, "G1"))
    add("吴建军", Role.WORKER, _building_code(zy, "G2", 4), _grid_code(zy, "G2"))
    for name, community in zip(
        ("郑红梅", "冯伟", "何静", "许文博", "高玉兰"), COMMUNITIES, strict=True
    ):
        add(name, Role.COMMUNITY_STAFF, _building_code(community[1], "G1", 1), community[1])
    add("马国庆", Role.STREET_STAFF, _building_code(bg, "G2", 5), STREETS[0][0])
    add("林慧", Role.DISTRICT_STAFF, _building_code(wh, "G2", 5), DISTRICT[0])
    add("韩立新", Role.ADMIN, _building_code(dg, "G1", 1), None)
    # 幸福合伙人 last, so everyone above keeps their id. They live in 正阳社区, not 通海社区:
    # 通海社区's households are counted by the notice demo (one per grid), and 正阳社区
    # has all the rest: a resident to order (张桂兰, 第一网格), grid workers, and community
    # staff (冯伟) to decide the application that waits.
    add(
        "曲卫东",
        "resident",
        _building_code(zy, "G1", 3),
        None,
        DemoPartner(
            ("repair", "appliance"),
            availability=("weekday_am", "weekend_am", "weekend_pm"),
            intro="退休电工，会修水电和小家电",
        ),
    )
    add(
        "于美华",
        "resident",
        _building_code(zy, "G2", 5),
        None,
        DemoPartner(
            ("haircut", "elderly"),
            availability=("weekday_pm", "weekend_pm"),
            intro="做过二十年理发师，常陪楼里的老人聊天",
        ),
    )
    add(
        "姜海燕",
        "resident",
        _building_code(zy, "G2", 6),
        None,
        DemoPartner(("sewing",), approved=False, intro="会缝补、改衣服"),
    )
    return people


DEMO_PERSONAS: list[Persona] = _personas()
DEMO_PARTNERS: list[Persona] = [p for p in DEMO_PERSONAS if p.partner is not None]


async def seed_demo(session: AsyncSession, now: datetime) -> list[Persona]:
    """Create (or bring back in line) the demo hierarchy and people; flushes, the caller
    commits."""
    await import_rows(session, demo_rows(), now)
    codes = {p.building_code for p in DEMO_PERSONAS} | {p.scope_code for p in DEMO_PERSONAS}
    nodes = await _nodes_by_code(session, {c for c in codes if c})
    staff = StaffRepo(session)
    for persona in DEMO_PERSONAS:
        user = await session.get(User, persona.user_id)
        if user is None:
            user = User(id=persona.user_id, created_at=now, last_seen_at=now)
            session.add(user)
        user.first_name = persona.name  # Chinese names are written whole, surname first
        user.last_name = None
        user.language = persona.language
        user.telegram_language = "zh-hans"
        user.phone = persona.phone
        user.building_id = nodes[persona.building_code].id if persona.building_code else None
        if user.consent_at is None:
            user.consent_at = now
        user.blocked_at = None
        role = ROLE_BY_NAME.get(persona.role)
        if role is not None:
            scope = nodes[persona.scope_code] if persona.scope_code else None
            await staff.grant(
                user_id=persona.user_id, role=role, node=scope, granted_by=None, now=now
            )
    await session.flush()
    for persona in DEMO_PARTNERS:
        await _seed_partner(session, persona, nodes, now)
    await session.flush()
    await _seed_team_and_call(session, now)
    await session.flush()
    await _seed_council(session, now)
    await session.flush()
    return list(DEMO_PERSONAS)


DEMO_TEAM = "共享奶奶"
DEMO_CALL = "招募缝补、助老志愿者"


async def _seed_team_and_call(session: AsyncSession, now: datetime) -> None:
    """A team in 正阳社区 (于美华 leads, 曲卫东 is a member) and an open recruitment call
    there, found again by name on a later seeding rather than made twice. The call is
    the call itself, not its notice: staff see it under /partners."""
    by_name = {p.name: p for p in DEMO_PERSONAS}
    leader, member, officer = by_name["于美华"], by_name["曲卫东"], by_name["冯伟"]
    partner = await session.get(Partner, leader.user_id)
    assert partner is not None
    community_id = partner.community_id
    team = await session.scalar(
        select(Team).where(Team.community_id == community_id, Team.name == DEMO_TEAM)
    )
    if team is None:
        team = Team(community_id=community_id, name=DEMO_TEAM, created_at=now)
        session.add(team)
    team.leader_id, team.skills, team.created_by = leader.user_id, ["elderly"], officer.user_id
    await session.flush()
    for person in (leader, member):
        row = await session.get(TeamMember, (team.id, person.user_id))
        if row is None:
            session.add(TeamMember(team_id=team.id, partner_id=person.user_id, at=now))
    for row in (
        await session.execute(select(TeamMember).where(TeamMember.team_id == team.id))
    ).scalars():
        row.state = "member"
    call = await session.scalar(
        select(RecruitmentCall).where(
            RecruitmentCall.community_id == community_id, RecruitmentCall.title == DEMO_CALL
        )
    )
    if call is None:
        call = RecruitmentCall(community_id=community_id, title=DEMO_CALL, created_at=now)
        session.add(call)
    call.description = "每周上门陪伴独居老人、帮邻居缝补衣物，每次一两个小时。"
    call.skills = ["sewing", "elderly"]
    call.quota = 5
    call.deadline = now + timedelta(days=14)
    call.state = CallState.OPEN
    call.closed_at = None
    call.created_by = officer.user_id


DEMO_COUNCIL_PLACE = "正阳社区党群服务中心二楼议事厅"
DEMO_COUNCIL_PIN = (37.3902, 121.6071)  # near the demo's buildings (sandbox.people.CENTRE)
DEMO_COUNCIL_MINUTE = 15 * 60
# Days after the demo's "now" (local date) the meeting may fall on: the first of these
# that is a day of the month staff could choose (1-28). Four days mostly, at most seven.
DEMO_COUNCIL_AHEAD = (4, 5, 6, 7)
# The call for topics 3 days before (not the usual 7): with the meeting days away, a
# 7-day call would be overdue at once and go out late the moment the bot starts. This
# way all three reminders lie ahead, after the next morning: the sandbox clock reaches
# each of them, and nothing goes out before someone moves it.
DEMO_COUNCIL_OFFSETS = {"topics": 3 * 24 * 60, "agenda": 24 * 60, "venue": 2 * 60}


@dataclass(frozen=True)
class DemoTopic:
    author: str
    text: str
    supporters: tuple[str, ...] = ()
    accepted: bool = False


# Proposed by 正阳社区's residents (the partners live there too); 冯伟 put the first on
# the agenda.
DEMO_TOPICS = (
    DemoTopic(
        "张桂兰",
        "2号楼和3号楼之间的路灯坏了半个月，晚上老人出门看不清路",
        ("曲卫东", "于美华"),
        accepted=True,
    ),
    DemoTopic(
        "于美华",
        "电动车在楼道里充电太危险，能不能在小区里建一个集中充电棚",
        ("姜海燕",),
    ),
    DemoTopic("曲卫东", "社区活动室周末能不能开放，给孩子写作业、老人下棋"),
)


def _council_day(now: datetime, policy: CouncilPolicy) -> int:
    """The meeting's day of the month (four consecutive days hold one of 1-28)."""
    today = now.astimezone(policy.zone).date()
    return next(
        day for day in ((today + timedelta(days=n)).day for n in DEMO_COUNCIL_AHEAD) if day <= 28
    )


async def _seed_council(session: AsyncSession, now: datetime) -> None:
    """正阳社区's 民情议事会 a few days ahead: its settings (written only when the
    community has none, so a later seeding keeps the day, and what staff changed in
    play), its next meeting made by the council service (with its reminders), and the
    topics above, found again by proposer and text rather than made twice. A topic is
    proposed, +1'd and accepted through the service only while that is still allowed
    (topics close two days before); a topic staff declined or merged in play stays so."""
    by_name = {p.name: p for p in DEMO_PERSONAS}
    officer = by_name["冯伟"]
    policy = CouncilPolicy()
    service = CouncilService(session, now, policy)
    officer_user = await session.get(User, officer.user_id)
    assert officer_user is not None
    community = await service.community_of(officer_user.building_id)
    assert community is not None and community.name == "正阳社区", community
    if await session.get(CouncilSettings, community.id) is None:
        lat, lon = DEMO_COUNCIL_PIN
        session.add(
            CouncilSettings(
                community_id=community.id,
                day=_council_day(now, policy),
                minute_of_day=DEMO_COUNCIL_MINUTE,
                place=DEMO_COUNCIL_PLACE,
                latitude=lat,
                longitude=lon,
                offsets=dict(DEMO_COUNCIL_OFFSETS),
                updated_at=now,
            )
        )
        await session.flush()
    meeting = await service.next_meeting(community.id)
    staffing = await StaffRepo(session).staffing(officer.user_id)
    for seeded in DEMO_TOPICS:
        author = await session.get(User, by_name[seeded.author].user_id)
        assert author is not None
        topic = await _seed_topic(session, service, meeting, author, seeded.text)
        if topic is None:
            continue
        if topic.state in (TopicState.OPEN, TopicState.ACCEPTED) and rsvp_open(meeting, now):
            for name in seeded.supporters:  # +1s are taken until the meeting begins
                supporter = await session.get(User, by_name[name].user_id)
                assert supporter is not None
                await service.support(topic.id, supporter)  # False: there already
        if seeded.accepted and topic.state == TopicState.OPEN:
            await service.accept(staffing, topic.id)
            # Decided before the demo began: the proposer is not sent the news when the
            # bot starts (as no card goes out for the waiting partner application).
            await service.outbox.withdraw(TOPIC_NEWS, topic.id, now, "demo seed")


async def _seed_topic(
    session: AsyncSession, service: CouncilService, meeting: Meeting, author: User, text: str
) -> Topic | None:
    """The topic as proposed before, or proposed now; None when topics have closed."""
    topic = await session.scalar(
        select(Topic).where(
            Topic.meeting_id == meeting.id, Topic.author_id == author.id, Topic.text == text
        )
    )
    if topic is not None:
        return topic
    if not topics_open(meeting, service.now, service.policy):
        return None  # seeded again too late for this meeting
    return await service.propose(meeting.id, author, text)


async def _seed_partner(
    session: AsyncSession, persona: Persona, nodes: dict[str, Node], now: datetime
) -> None:
    """The partner row as the persona says, written directly: no card goes to staff
    for the waiting application (they find it under 审核报名), and seeding again puts a
    partner who was decided on or suspended in play back as they were. Orders and
    points earned in play are left alone."""
    assert persona.partner is not None and persona.building_code is not None
    community = (await HierarchyRepo(session).chain(nodes[persona.building_code])).get(
        NodeKind.COMMUNITY
    )
    assert community is not None, persona.building_code
    partner = await session.get(Partner, persona.user_id)
    if partner is None:
        partner = Partner(user_id=persona.user_id, created_at=now)
        session.add(partner)
    seeded = persona.partner
    partner.community_id = community.id
    partner.real_name = persona.name
    partner.phone = persona.phone or ""
    partner.skills = list(seeded.skills)
    partner.availability = list(seeded.availability)
    partner.intro = seeded.intro
    partner.certificate_file_id = None
    partner.reason = None
    partner.origin = Origin.SELF
    partner.call_id = None
    partner.nominated_by = None
    partner.available = True
    partner.decided_by = None
    if seeded.approved:
        if partner.state != PartnerState.APPROVED or partner.decided_at is None:
            partner.decided_at = now
        partner.state = PartnerState.APPROVED
    else:
        partner.state = PartnerState.PENDING
        partner.decided_at = None


async def _nodes_by_code(session: AsyncSession, codes: set[str]) -> dict[str, Node]:
    result = await session.execute(select(Node).where(Node.code.in_(sorted(codes))))
    return {n.code: n for n in result.scalars()}
