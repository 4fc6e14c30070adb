from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    consent = State()
    switch = State()
    community = State()
    grid = State()
    building = State()
