from aiogram.fsm.state import State, StatesGroup


class Privacy(StatesGroup):
    overview = State()
    confirm_delete = State()
