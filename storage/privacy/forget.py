"""Deleting a person's data: each feature forgets what it holds about them (its hook,
listed in the feature registry), then the user row and their roles go."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from storage.users import UserRepo

ForgetHook = Callable[[AsyncSession, int], Awaitable[None]]


async def forget_user(session: AsyncSession, user_id: int, hooks: Iterable[ForgetHook]) -> None:
    for hook in hooks:
        await hook(session, user_id)
    await UserRepo(session).delete(user_id)
