"""The console agent: a person plays the recommender, typing track ids and seeing titles and listened times."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from rich.console import Console

from botify.sim.agents.base import Episodes, Progress
from botify.sim.engine import SessionResults
from botify.sim.episodes import episode_starts
from botify.sim.returns import ListenFactors
from botify.sim.session import SessionPlayer, results_from_players
from botify.sim.world import SimWorld

__all__ = ["ConsoleAgent"]


class ConsoleAgent:
    """Ask a person for each next track. ``q`` ends the run early (finished sessions are kept)."""

    def __init__(self, world: SimWorld, *, ask: Callable[[str], str] = input, console: Console | None = None) -> None:
        self.world = world
        self.ask = ask
        self.console = console or Console()

    def play(self, episodes: Episodes, *, seed: int, progress: Progress | None = None,
             users: npt.NDArray[np.int64] | None = None, returns: ListenFactors | None = None) -> SessionResults:
        """Play the episodes interactively."""
        players: list[SessionPlayer] = []
        numbers = np.asarray(episodes, dtype=np.int64)
        starts = episode_starts(self.world, seed, numbers, users)
        for row, episode in enumerate(numbers.tolist()):
            player = SessionPlayer(self.world, seed, episode, starts=starts, row=row, returns=returns)
            self.console.print(f"[bold]Episode {episode}[/]: user {player.user} starts with "
                               f"{self._describe(player.last_track)}")
            while not player.done:
                answer = self.ask("next track id (q to quit): ").strip()
                if answer.lower() in {"q", "quit", "exit"}:
                    return results_from_players(players, heard=returns is not None)
                if not answer.isdigit() or int(answer) >= self.world.n_tracks:
                    self.console.print(f"[red]enter a track id between 0 and {self.world.n_tracks - 1}[/]")
                    continue
                time = player.listen(int(answer))
                self.console.print(f"  listened {time:.0%} of {self._describe(int(answer))}")
            self.console.print(f"  session over: {len(player.played)} tracks, time {player.total_time:.2f}")
            players.append(player)
            if progress is not None:
                progress(1)
        return results_from_players(players, heard=returns is not None)

    def _describe(self, track: int) -> str:
        meta = self.world.catalog.describe(track)
        return f"#{track} “{meta['title']}” by {meta['artist']} ({meta['genre']})"
