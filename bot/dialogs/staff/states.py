from aiogram.fsm.state import State, StatesGroup


class StaffInvite(StatesGroup):
    role = State()
    node = State()
    done = State()


class StaffAdmin(StatesGroup):
    staff = State()
    member = State()
    invites = State()
