from aiogram.fsm.state import State, StatesGroup


class MainMenu(StatesGroup):
    main = State()


class Onboarding(StatesGroup):
    consent = State()
    switch = State()
    community = State()
    grid = State()
    building = State()


class Privacy(StatesGroup):
    overview = State()
    confirm_delete = State()


class StaffInvite(StatesGroup):
    role = State()
    node = State()
    done = State()


class StaffAdmin(StatesGroup):
    staff = State()
    member = State()
    invites = State()
