from aiogram.fsm.state import State, StatesGroup


class Channels(StatesGroup):
    home = State()
    node = State()
    name = State()
    detail = State()
    confirm = State()
