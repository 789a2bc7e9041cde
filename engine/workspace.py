"""Where a command runs: the home folder, the practice config, its clock and calendar.

A ``Workspace`` turns the global options (``settings.Options``: home, store URL, clock,
playbook folders, from the command line and then the environment) into what the commands on
instances need: the home's disk cache, the practice config, its time zone, the clock, the
business calendar and who may act. Everything is read on first use, so a command pays only for
what it asks. It opens no store and compiles no playbook (``service`` and ``registry`` do).

The practice config comes from the disk cache (``loading.cache``) when its exact text was
validated before, so a command on an instance imports neither ``yaml`` nor ``jsonschema``.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING

from .errors import RefusedError
from .loading.cache import DiskCache, content_hash
from .model import RESERVED_ACTORS, Practice
from .runtime.calendar import BusinessCalendar, HolidaysForYear, calendar_key, package_holidays
from .runtime.clock import Clock, make_clock
from .settings import Options

if TYPE_CHECKING:
    from .loading.catalog import SearchDir
    from .loading.yamlsource import YamlDocument


class Workspace:
    """One command's configuration: options, practice config, time zone, clock, calendar.

    ``practice_text`` stands in for ``<home>/practice.yaml`` (scenario tests give theirs);
    ``clock`` for the clock of ``--now`` or the real one (the demo and scenarios move it);
    ``omnipotent`` names actors who hold every role (the scenario runner's actor).
    """

    def __init__(self, options: Options, *, practice_text: str | None = None,
                 clock: Clock | None = None, omnipotent: frozenset[str] = frozenset()) -> None:
        self.options = options
        self.omnipotent = omnipotent
        self._practice_text = practice_text
        self._clock = clock
        self._clock_given = clock is not None
        self.web_person: str | None = None  # who logged in to the web board (``sign_in``)

    @cached_property
    def cache(self) -> DiskCache:
        """Validated models by content hash, in ``<home>/cache/compiled``."""
        return DiskCache.for_home(self.options.home_path)

    @cached_property
    def search_dirs(self) -> list[SearchDir]:
        """The playbook folders, in search order."""
        from .loading.catalog import search_path

        return search_path(self.options.playbooks, self.options.home_path, self.options.env)

    # -- the practice config -------------------------------------------------------------
    @cached_property
    def practice_document(self) -> YamlDocument:
        """The practice config as parsed and checked (exit 3 on any error)."""
        from .loading.practice import parse_practice

        if self._practice_text is not None:
            return parse_practice(text=self._practice_text, display="practice")
        path = self.options.practice_path
        return parse_practice(path, display=str(path))

    @cached_property
    def practice_digest(self) -> str | None:
        """The content hash of the practice config; None when there is none (or unreadable)."""
        if self._practice_text is not None:
            return content_hash(self._practice_text)
        try:
            return content_hash(self.options.practice_path.read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            return None  # parse_practice reports it (or finds no file)

    @cached_property
    def practice(self) -> Practice:
        """The practice config as a model: every default when there is no practice.yaml."""
        digest = self.practice_digest
        if digest is None and self._practice_text is None and (
                not self.options.practice_path.exists()):
            return Practice()
        cached = self.cache.load("practice", digest) if digest else None
        if isinstance(cached, Practice):
            return cached
        from .loading.practice import build_practice

        data = self.practice_document.data
        practice = build_practice(data if isinstance(data, dict) else None)
        if digest:
            self.cache.save("practice", digest, practice)
        return practice

    def check_actor(self, actor: str) -> None:
        """Refuse (exit 5) a reserved name, and an actor unknown to a practice that lists its
        people."""
        if actor in RESERVED_ACTORS and actor not in self.omnipotent:
            raise RefusedError(f"'{actor}' is reserved for the engine itself and cannot act "
                               "through a command")
        people = self.practice.people
        if people and actor not in people and actor not in self.omnipotent:
            raise RefusedError(f"unknown person '{actor}': not in practice.yaml people "
                               f"({', '.join(sorted(people))})")

    def resolve_actor(self, name: str, principal: str) -> str:
        """The person acting in a command that writes, given the name asked for (``--as``,
        ``$FRONTDESK_USER``, else the account name) and the authenticated ``principal``.

        In an *authenticated* practice (some person has a ``login``) the actor is a person
        whose login is the principal: a name among them is taken; the account's own name
        stands for its one person; a shared account must say who with ``--as``; anyone else
        is refused (exit 5). In *trust* mode the name is taken as given (``check_actor``).
        In the web board the person who logged in acts, and no one else.
        """
        if self.web_person is not None:
            if name != self.web_person:
                raise RefusedError(f"'{name}' cannot act from the web login of "
                                   f"'{self.web_person}'")
            self.check_actor(name)
            return name
        if not self.practice.authenticated or name in self.omnipotent:
            self.check_actor(name)
            return name
        if name in RESERVED_ACTORS:
            self.check_actor(name)  # refused
        allowed = self.practice.persons_for_login(principal)
        if name in allowed:
            return name
        if not allowed:
            raise RefusedError(f"the account '{principal}' is no person's login in "
                               "practice.yaml: it may read, not act")
        if name == principal and len(allowed) == 1:
            return allowed[0]
        if name == principal:
            raise RefusedError(f"the account '{principal}' is shared by {', '.join(allowed)}: "
                               "say who you are with --as")
        raise RefusedError(f"'{name}' cannot act from the account '{principal}' (it logs in "
                           f"as {', '.join(allowed)})")

    def require_administrator(self, actor: str, what: str) -> None:
        """Refuse (exit 5) ``what`` to anyone but the practice's administrators."""
        if actor not in self.omnipotent and not self.practice.is_administrator(actor):
            admins = ", ".join(self.practice.administrator_ids or ())
            raise RefusedError(f"{what} is for the practice's administrators ("
                               + (admins or "none yet: list them under 'administrators' in "
                                  "practice.yaml") + ")")

    # -- time ----------------------------------------------------------------------------
    @cached_property
    def tz(self) -> dt.tzinfo:
        """The practice's time zone, else the machine's."""
        if self.practice.timezone:
            from zoneinfo import ZoneInfo

            return ZoneInfo(self.practice.timezone)
        from dateutil.tz import tzlocal

        return tzlocal()

    @property
    def clock(self) -> Clock:
        """The clock given, else ``--now`` / ``$FRONTDESK_NOW``, else the real one."""
        if self._clock is None:
            self._clock = make_clock(self.options.now_text, self.tz)
        return self._clock

    def use_clock(self, clock: Clock) -> None:
        """Drive this workspace with ``clock`` (scenario tests and the demo move it forward)."""
        self._clock = clock
        self._clock_given = True

    @property
    def simulated(self) -> bool:
        """The clock is overridden (``--now``, ``$FRONTDESK_NOW``, or a clock given by the demo,
        a scenario or the benchmark): a store created now is simulated, and a real store
        refuses this command's writes."""
        return self._clock_given or self.options.now_text is not None

    @cached_property
    def calendar(self) -> BusinessCalendar:
        """Business days: Mon-Fri minus the region's public holidays and the closed dates."""
        practice = self.practice
        closed = [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
                  for d in practice.closed]
        return BusinessCalendar(
            cached_holidays(practice.country, practice.subdivision, self.cache), closed)


def cached_holidays(country: str, subdivision: str | None,
                    cache: DiskCache) -> HolidaysForYear:
    """The ``holidays`` package's holidays of a year, kept in the home's disk cache.

    Why a cache: importing ``holidays`` and computing a first year costs about 110 ms of CPU,
    as much again as the rest of a ``fire`` or ``done`` (``python -m bench``, "command
    start"), and most events that enter a state compute a due date in business days. The key
    is the region and the installed ``holidays`` release (``calendar_key``), so a new release
    computes the year again.
    """
    from_package = package_holidays(country, subdivision)

    def holidays_for_year(year: int) -> frozenset[dt.date]:
        digest = content_hash(f"{calendar_key(country, subdivision)}:{year}")
        cached = cache.load("holidays", digest)
        if isinstance(cached, frozenset):
            return cached
        computed = from_package(year)
        cache.save("holidays", digest, computed)
        return computed

    return holidays_for_year
