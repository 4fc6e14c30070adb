from aiogram.fsm.state import State, StatesGroup


class FileAppeal(StatesGroup):
    category = State()
    similar = State()
    same = State()
    description = State()
    summary = State()
    photos = State()
    location = State()


class UrgentCall(StatesGroup):
    confirm = State()


class MyAppeals(StatesGroup):
    list = State()
    detail = State()
    add_details = State()
    cancel_confirm = State()


class RateAppeal(StatesGroup):
    comment = State()


class Tasks(StatesGroup):
    list = State()
    detail = State()


class AssignTask(StatesGroup):
    worker = State()
    window = State()


class TaskInput(StatesGroup):
    reason = State()
    duplicate = State()
    progress = State()
    resolve = State()
    transfer_community = State()
    transfer_grid = State()


class Stats(StatesGroup):
    overview = State()
