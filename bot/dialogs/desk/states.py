from aiogram.fsm.state import State, StatesGroup


class DeskScreen(StatesGroup):
    link = State()
