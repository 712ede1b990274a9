"""Write a region-sized activity history in the exchange format (docs/exchange-format.md).

At --scale 1: one region (Asia/Krasnoyarsk), 40 districts each with an education
authority, 1,000 schools, 30,000 teachers, 300,000 other people (admins, students,
parents), classes, chats and channels, 3,000,000 messages and 50,000 calls in the
reported week 2026-W47, and two earlier weeks with fewer messages. The file is
streamed to disk line by line and is the same for the same --seed and --scale.

Cases the engine must read exactly are mixed in on purpose: teachers in two schools,
teacher roles that end or start in the middle of the reported week (their messages
and calls on the wrong side of the change must not count), admins who become teachers
mid-week, deleted chats, chats created after the week, channels, calls held and not
held, calls created on Sunday night and held after the week ended.

    python bench/generate_region.py --scale 0.01 --out bench/out/region-0.01.jsonl
"""

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

KRASNOYARSK = timezone(timedelta(hours=7))
SCHOOL_YEAR = datetime(2026, 9, 1, tzinfo=KRASNOYARSK)
REPORTED_MONDAY = datetime(2026, 11, 16, tzinfo=KRASNOYARSK)  # 2026-W47
WEEK = 7 * 24 * 3600

DISTRICTS = 40
SCHOOLS = 1000
TEACHERS_PER_SCHOOL = 30
STUDENTS_PER_SCHOOL = 200
CLASSES_PER_SCHOOL = 11
OTHER_PEOPLE = 300_000  # admins of schools and authorities, students, parents
# Messages and calls per week at scale 1, newest (the reported week) last.
WEEKS = (
    (REPORTED_MONDAY - timedelta(days=14), 250_000, 5_000),
    (REPORTED_MONDAY - timedelta(days=7), 250_000, 5_000),
    (REPORTED_MONDAY, 3_000_000, 50_000),
)
# Who writes the messages of a school.
AUTHOR_SHARES = (("teacher", 0.40), ("student", 0.45), ("parent", 0.12), ("admin", 0.03))

SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков")
NAMES = ("Анна", "Елена", "Мария", "Ольга", "Денис", "Артём", "Илья", "Олег", "Ирина", "Павел")
PATRONYMICS = ("Петрович", "Ильич", "Андреевич", "Сергеевна", "Викторовна", "Павловна")
TEXTS = tuple(
    json.dumps(text, ensure_ascii=False)
    for text in (
        "Доброе утро!",
        "Домашнее задание на завтра: §12, упр. 3–5",
        "Спасибо!",
        "Родительское собрание в четверг в 18:00",
        "Кто завтра дежурит?",
        "Ок",
        "Фото доски после урока",
        "Напоминаю про экскурсию, сбор в 9:00 у школы",
    )
)


def moment(ts: float) -> str:
    """An aware timestamp as the exchange format writes it (UTC, `Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def local(dt: datetime) -> str:
    return dt.isoformat()


class Region:
    """Who is where: enough of the structure to pick authors, chats and call guests."""

    def __init__(self, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.schools = max(1, round(SCHOOLS * scale))
        self.districts = max(1, min(DISTRICTS, round(DISTRICTS * scale)))
        per_school_others = STUDENTS_PER_SCHOOL + 1  # students and the school's admin
        parents_total = max(
            self.schools, round(OTHER_PEOPLE * scale) - self.schools * per_school_others
        )
        parents_total -= self.districts  # each authority has an admin too
        self.parents_per_school = max(1, parents_total // self.schools)
        rng = self.rng
        # A teacher's activity: a quarter write nothing, some write a little, most write.
        self.teacher_weight = [
            0.0 if r < 0.25 else (0.05 if r < 0.40 else rng.lognormvariate(0, 0.8))
            for r in (rng.random() for _ in range(self.schools * TEACHERS_PER_SCHOOL))
        ]
        # A school's activity; a few schools are silent all week.
        self.school_weight = [
            0.0 if rng.random() < 0.02 else rng.lognormvariate(0, 0.5) for _ in range(self.schools)
        ]

    def district_of(self, school: int) -> int:
        return school * self.districts // self.schools

    def second_school(self, teacher: int) -> int | None:
        """About 3% of teachers also teach in the next school of their district."""
        if teacher % 33 != 0:
            return None
        school = teacher // TEACHERS_PER_SCHOOL
        other = school + 1
        if other >= self.schools or self.district_of(other) != self.district_of(school):
            return None
        return other

    @staticmethod
    def teacher_role_change(teacher: int) -> str:
        """`ends` / `starts` in the middle of the reported week, or `held` all along."""
        return {1: "ends", 2: "starts"}.get(teacher % 50, "held")

    def teachers_of(self, school: int) -> list[int]:
        start = school * TEACHERS_PER_SCHOOL
        return list(range(start, start + TEACHERS_PER_SCHOOL))

    def guest_teachers_of(self, school: int) -> list[int]:
        if school == 0:
            return []
        return [t for t in self.teachers_of(school - 1) if self.second_school(t) == school]

    def students_of_class(self, school: int, klass: int) -> list[int]:
        base = school * STUDENTS_PER_SCHOOL
        return [base + s for s in range(STUDENTS_PER_SCHOOL) if s % CLASSES_PER_SCHOOL == klass]

    def parents_of_class(self, school: int, klass: int) -> list[int]:
        base = school * self.parents_per_school
        return [base + p for p in range(self.parents_per_school) if p % CLASSES_PER_SCHOOL == klass]


def structure(region: Region) -> Iterator[dict[str, Any]]:
    rng = region.rng
    yield {"type": "region", "id": "r24", "name": "Красноярский край", "tz": "Asia/Krasnoyarsk"}
    for d in range(region.districts):
        yield {"type": "district", "id": f"d{d}", "region": "r24", "name": f"Район №{d + 1:02d}"}
        yield {
            "type": "org",
            "id": f"uo{d}",
            "district": f"d{d}",
            "kind": "authority",
            "name": f"МКУ «Управление образования района №{d + 1:02d}»",
        }
    for s in range(region.schools):
        yield {
            "type": "org",
            "id": f"sch{s}",
            "district": f"d{region.district_of(s)}",
            "kind": "school",
            "name": f"МБОУ СОШ №{s + 1:04d}",
            "short_name": f"СОШ №{s + 1}",
        }

    def person(prefix: str, n: int, phone: str | None = None) -> dict[str, Any]:
        name = f"{rng.choice(SURNAMES)} {rng.choice(NAMES)} {rng.choice(PATRONYMICS)}"
        record = {"type": "user", "id": f"{prefix}{n}", "name": name}
        if phone:
            record["phone"] = phone
        return record

    for d in range(region.districts):
        yield person("ua", d, f"+7913{d:07d}")
    for s in range(region.schools):
        yield person("a", s, f"+7913{1_000_000 + s:07d}")
    for t in range(region.schools * TEACHERS_PER_SCHOOL):
        yield person("t", t, f"+7913{2_000_000 + t:07d}")
    for n in range(region.schools * STUDENTS_PER_SCHOOL):
        yield person("s", n)
    for n in range(region.schools * region.parents_per_school):
        yield person("p", n)

    year = local(SCHOOL_YEAR)
    mid_week = local(REPORTED_MONDAY + timedelta(days=2, hours=12))  # Wednesday 12:00
    thursday = local(REPORTED_MONDAY + timedelta(days=3))
    for d in range(region.districts):
        yield {"type": "role", "user": f"ua{d}", "org": f"uo{d}", "role": "admin", "from": year}
    for s in range(region.schools):
        org = f"sch{s}"
        yield {"type": "role", "user": f"a{s}", "org": org, "role": "admin", "from": year}
        if s % 2 == 0:  # the head teaches
            yield {"type": "role", "user": f"a{s}", "org": org, "role": "teacher", "from": year}
        elif s % 10 == 1:  # an admin who becomes a teacher on Wednesday of the reported week
            yield {"type": "role", "user": f"a{s}", "org": org, "role": "teacher", "from": mid_week}
        for t in region.teachers_of(s):
            role: dict[str, Any] = {"type": "role", "user": f"t{t}", "org": org, "role": "teacher"}
            change = region.teacher_role_change(t)
            if change == "ends":
                role |= {"from": year, "to": mid_week}
            elif change == "starts":
                role |= {"from": thursday}
            else:
                role |= {"from": year}
            yield role
            other = region.second_school(t)
            if other is not None:
                yield {
                    "type": "role",
                    "user": f"t{t}",
                    "org": f"sch{other}",
                    "role": "teacher",
                    "from": year,
                }
        for n in range(STUDENTS_PER_SCHOOL):
            student = s * STUDENTS_PER_SCHOOL + n
            yield {
                "type": "role",
                "user": f"s{student}",
                "org": org,
                "role": "student",
                "from": year,
            }
        for n in range(region.parents_per_school):
            parent = s * region.parents_per_school + n
            yield {"type": "role", "user": f"p{parent}", "org": org, "role": "parent", "from": year}

    for s in range(region.schools):
        for k in range(CLASSES_PER_SCHOOL):
            yield {
                "type": "class",
                "id": f"sch{s}-c{k}",
                "org": f"sch{s}",
                "name": f"{k + 1}А",
                "class_teacher": f"t{s * TEACHERS_PER_SCHOOL + k}",
            }
        yield {
            "type": "class",
            "id": f"sch{s}-staff",
            "org": f"sch{s}",
            "name": "1*У*Учительский",
            "staff": True,
        }


def chat_created(rng: random.Random) -> str:
    return moment(SCHOOL_YEAR.timestamp() + rng.uniform(0, 60 * 24 * 3600))


def chats(region: Region) -> Iterator[dict[str, Any]]:
    """Per school: a class chat and a parents' chat per class, a staff chat, a channel, and a
    few other chats of teachers (some deleted, some created in or after the reported week)."""
    rng = region.rng
    week_start = REPORTED_MONDAY.timestamp()
    for s in range(region.schools):
        org = f"sch{s}"
        teachers = [f"t{t}" for t in region.teachers_of(s)]
        for k in range(CLASSES_PER_SCHOOL):
            teacher = teachers[k]
            yield {
                "type": "chat",
                "id": f"{org}-cc{k}",
                "org": org,
                "kind": "chat",
                "title": f"{k + 1}А — классный чат",
                "created_by": teacher,
                "created_at": chat_created(rng),
                "class": f"{org}-c{k}",
                "purpose": "class",
                "members": [teacher, *(f"s{n}" for n in region.students_of_class(s, k))],
            }
            yield {
                "type": "chat",
                "id": f"{org}-pc{k}",
                "org": org,
                "kind": "chat",
                "title": f"{k + 1}А — родители",
                "created_by": teacher,
                "created_at": chat_created(rng),
                "class": f"{org}-c{k}",
                "purpose": "parents",
                "members": [teacher, *(f"p{n}" for n in region.parents_of_class(s, k))],
            }
        yield {
            "type": "chat",
            "id": f"{org}-staff",
            "org": org,
            "kind": "chat",
            "title": "Учительская",
            "created_by": f"a{s}",
            "created_at": chat_created(rng),
            "purpose": "staff",
            "members": [f"a{s}", *teachers],
        }
        yield {
            "type": "chat",
            "id": f"{org}-news",
            "org": org,
            "kind": "channel",
            "title": "Новости школы",
            "created_by": f"a{s}",
            "created_at": chat_created(rng),
        }
        for n in range(3):
            creator = rng.choice(teachers)
            created = rng.random()
            chat: dict[str, Any] = {
                "type": "chat",
                "id": f"{org}-x{n}",
                "org": org,
                "kind": "chat",
                "title": "Кружок",
                "created_by": creator,
            }
            if created < 0.6:
                chat["created_at"] = chat_created(rng)
            elif created < 0.85:  # during the reported week
                chat["created_at"] = moment(week_start + rng.uniform(0, WEEK))
            else:  # after it
                chat["created_at"] = moment(week_start + WEEK + rng.uniform(0, WEEK))
            if rng.random() < 0.2:  # deleted, before or after the end of the week
                created_ts = datetime.fromisoformat(chat["created_at"]).timestamp()
                deleted = max(created_ts, week_start + rng.uniform(-WEEK, 2 * WEEK))
                chat["deleted_at"] = moment(deleted)
            yield chat


class Activity:
    """Messages and calls of one week, written straight to the file."""

    def __init__(self, region: Region, out: Any) -> None:
        self.region = region
        self.rng = region.rng
        self.out = out
        self.lines = 0
        self.messages = 0
        self.calls = 0

    def week(self, monday: datetime, messages: int, calls: int) -> None:
        region = self.region
        total_weight = sum(region.school_weight)
        for s in range(region.schools):
            share = region.school_weight[s] / total_weight
            self._school_messages(s, monday.timestamp(), round(messages * region.scale * share))
            self._school_calls(s, monday.timestamp(), round(calls * region.scale * share))

    def _authors_and_chats(self, s: int, kind: str, n: int) -> list[tuple[str, str]]:
        rng = self.rng
        region = self.region
        org = f"sch{s}"
        classes = range(CLASSES_PER_SCHOOL)
        if kind == "teacher":
            people = region.teachers_of(s) + region.guest_teachers_of(s)
            weights = [region.teacher_weight[t] for t in people]
            if not any(weights):
                return []
            chosen = rng.choices(people, weights=weights, k=n)
            where = [f"{org}-cc{k}" for k in classes] + [f"{org}-pc{k}" for k in classes]
            where += [f"{org}-staff"] * 4
            return [(f"t{t}", rng.choice(where)) for t in chosen]
        if kind == "student":
            base = s * STUDENTS_PER_SCHOOL
            picks = [rng.randrange(STUDENTS_PER_SCHOOL) for _ in range(n)]
            return [(f"s{base + p}", f"{org}-cc{p % CLASSES_PER_SCHOOL}") for p in picks]
        if kind == "parent":
            base = s * region.parents_per_school
            picks = [rng.randrange(region.parents_per_school) for _ in range(n)]
            return [(f"p{base + p}", f"{org}-pc{p % CLASSES_PER_SCHOOL}") for p in picks]
        return [(f"a{s}", rng.choice((f"{org}-news", f"{org}-staff"))) for _ in range(n)]

    def _school_messages(self, s: int, week_start: float, n: int) -> None:
        rng = self.rng
        write = self.out.write
        for kind, share in AUTHOR_SHARES:
            for author, chat in self._authors_and_chats(s, kind, round(n * share)):
                self.messages += 1
                sent = week_start + rng.random() * WEEK
                line = (
                    f'{{"type": "message", "id": "m{self.messages}", "chat": "{chat}", '
                    f'"author": "{author}", "sent_at": "{moment(sent)}", '
                    f'"text": {TEXTS[self.messages % len(TEXTS)]}'
                )
                if self.messages % 97 == 0:  # deleted later: still counts
                    line += f', "deleted_at": "{moment(sent + 3600)}"'
                write(line + "}\n")

    def _school_calls(self, s: int, week_start: float, n: int) -> None:
        rng = self.rng
        region = self.region
        org = f"sch{s}"
        teachers = region.teachers_of(s)
        weights = [region.teacher_weight[t] + 0.02 for t in teachers]
        for _ in range(n):
            self.calls += 1
            call_id = f"k{self.calls}"
            r = rng.random()
            if r < 0.85:
                creator = f"t{rng.choices(teachers, weights=weights)[0]}"
            elif r < 0.95:
                creator = f"a{s}"
            else:
                creator = f"s{s * STUDENTS_PER_SCHOOL + rng.randrange(STUDENTS_PER_SCHOOL)}"
            if rng.random() < 0.01:  # Sunday night, held after the week ends
                created = week_start + WEEK - 600
            else:
                created = week_start + rng.random() * (WEEK - 3600)
            klass = rng.randrange(CLASSES_PER_SCHOOL)
            call: dict[str, Any] = {
                "type": "call",
                "id": call_id,
                "org": org,
                "created_by": creator,
                "created_at": moment(created),
            }
            if rng.random() < 0.7:
                call["chat"] = f"{org}-cc{klass}"
            guests = [f"s{n}" for n in region.students_of_class(s, klass)]
            stays: list[tuple[str, float, float | None]] = []
            kind = rng.random()
            length = rng.uniform(900, 2700)
            if kind < 0.65:  # held: guests join while the creator is there
                stays.append((creator, created, created + length))
                for guest in rng.sample(guests, rng.randint(1, 4)):
                    joined = created + rng.uniform(60, 600)
                    left = None if rng.random() < 0.02 else joined + rng.uniform(60, length - 600)
                    stays.append((guest, joined, left))
            elif kind < 0.85:  # nobody came
                stays.append((creator, created, created + rng.uniform(60, 600)))
            else:  # someone came only after the creator had left
                stays.append((creator, created, created + 300))
                stays.append((rng.choice(guests), created + 300 + rng.uniform(0, 600), None))
            closed = [left for _p, _j, left in stays if left is not None]
            if len(closed) == len(stays):
                call["ended_at"] = moment(max(closed))
            self.out.write(json.dumps(call, ensure_ascii=False) + "\n")
            for person, joined, left in stays:
                stay: dict[str, Any] = {
                    "type": "call_participant",
                    "call": call_id,
                    "user": person,
                    "joined_at": moment(joined),
                }
                if left is not None:
                    stay["left_at"] = moment(left)
                self.out.write(json.dumps(stay, ensure_ascii=False) + "\n")
                self.lines += 1
            self.lines += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = the full region")
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    began = time.perf_counter()
    region = Region(args.scale, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines = 0
    with open(args.out, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
        for record in structure(region):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            lines += 1
        for record in chats(region):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            lines += 1
        activity = Activity(region, out)
        for monday, messages, calls in WEEKS:
            activity.week(monday, messages, calls)
    lines += activity.messages + activity.lines
    summary = {
        "file": str(args.out),
        "scale": args.scale,
        "seed": args.seed,
        "lines": lines,
        "schools": region.schools,
        "messages": activity.messages,
        "calls": activity.calls,
        "seconds": round(time.perf_counter() - began, 1),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    json.dump(summary, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
