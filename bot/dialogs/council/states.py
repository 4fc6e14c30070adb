from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class CouncilHome(StatesGroup):
    main = State()
    topics = State()
    topic = State()
    propose = State()
    checkin = State()
    past = State()
    past_item = State()


class CouncilHost(StatesGroup):
    main = State()
    topics = State()
    topic = State()
    decline = State()
    merge = State()
    add_topic = State()
    candidates = State()
    move_when = State()
    move_reason = State()
    settings = State()
    settings_day = State()
    settings_time = State()
    settings_place = State()
    settings_pin = State()
    settings_offsets = State()
    vote_question = State()
    vote_options = State()
    vote_confirm = State()
    votes = State()
    vote = State()
    vote_close = State()
    paper = State()
    minutes = State()
    people = State()


class CouncilPrefs(StatesGroup):
    main = State()


class CouncilDecide(StatesGroup):
    main = State()
    decision = State()
    what = State()
    topic = State()
    owner = State()
    owner_person = State()
    due = State()
    groups = State()
    group = State()
    group_name = State()
    group_node = State()
    members = State()


class CouncilTasks(StatesGroup):
    main = State()
    item = State()
    percent = State()
    text = State()
