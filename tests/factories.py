"""A small hierarchy built straight through the repositories, for tests that need one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import Clock
from storage.hierarchy import HierarchyRepo, Node, NodeKind


@dataclass
class Tree:
    district: Node
    street: Node
    community: Node
    grid: Node
    grid2: Node
    building: Node
    building2: Node
    building3: Node
    other_community: Node
    other_grid: Node
    other_building: Node


async def build_tree(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> Tree:
    async with sessionmaker() as session:
        repo = HierarchyRepo(session)
        now = clock.now()

        async def add(kind: NodeKind, code: str, name: str, parent: Node | None) -> Node:
            return await repo.create(kind=kind, code=code, name=name, parent=parent, now=now)

        d = await add(NodeKind.DISTRICT, "D", "牟平区", None)
        s = await add(NodeKind.STREET, "D-S", "宁海街道", d)
        c = await add(NodeKind.COMMUNITY, "D-S-C1", "通海社区", s)
        g1 = await add(NodeKind.GRID, "D-S-C1-G1", "第一网格", c)
        g2 = await add(NodeKind.GRID, "D-S-C1-G2", "第二网格", c)
        b1 = await add(NodeKind.BUILDING, "D-S-C1-G1-B1", "1号楼", g1)
        b2 = await add(NodeKind.BUILDING, "D-S-C1-G1-B2", "2号楼", g1)
        b3 = await add(NodeKind.BUILDING, "D-S-C1-G2-B3", "3号楼", g2)
        c2 = await add(NodeKind.COMMUNITY, "D-S-C2", "正阳社区", s)
        g3 = await add(NodeKind.GRID, "D-S-C2-G1", "第一网格", c2)
        b4 = await add(NodeKind.BUILDING, "D-S-C2-G1-B1", "8号楼", g3)
        await session.commit()
        return Tree(d, s, c, g1, g2, b1, b2, b3, c2, g3, b4)
