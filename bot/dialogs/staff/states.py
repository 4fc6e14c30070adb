from aiogram.fsm.state import State, StatesGroup


class StaffInvite(StatesGroup):
    role = State()
    node = State()
    done = State()


class StaffAdmin(StatesGroup):
    staff = State()
    member = State()
    confirm_revoke = State()
    invites = State()


class StaffProfile(StatesGroup):
    card = State()
    phone = State()
