from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class PartnerHome(StatesGroup):
    main = State()
    orders = State()


class PartnerApply(StatesGroup):
    name = State()
    phone = State()
    skills = State()
    slots = State()
    intro = State()
    confirm = State()


class OrderForm(StatesGroup):
    building = State()  # 代点单 only
    household = State()  # 代点单 only
    skill = State()
    details = State()
    when = State()
    phone = State()
    confirm = State()


class PartnerAdmin(StatesGroup):
    main = State()
    applications = State()
    people = State()
    person = State()
    suspend = State()
    points = State()


class PartnerReject(StatesGroup):
    reason = State()


class PartnerAssign(StatesGroup):
    pick = State()


class PartnerPhoto(StatesGroup):
    photo = State()


class Showcase(StatesGroup):
    main = State()


class PartnerCall(StatesGroup):
    title = State()
    description = State()
    skills = State()
    quota = State()
    deadline = State()
    confirm = State()


class PartnerNominate(StatesGroup):
    how = State()
    pick = State()
    name = State()
    building = State()
    reason = State()
    confirm = State()


class PartnerTeamNew(StatesGroup):
    name = State()
    leader = State()
    skills = State()


class PartnerTeamView(StatesGroup):
    main = State()
    invite = State()


class PartnerHand(StatesGroup):
    pick = State()


class PartnerRelay(StatesGroup):
    message = State()


class PartnerStats(StatesGroup):
    main = State()


class PartnerFromAppeal(StatesGroup):
    number = State()
    skill = State()


class PartnerComment(StatesGroup):
    text = State()


class PartnerChannel(StatesGroup):
    main = State()
    pick = State()
