"""Russian full names for demo people, drawn from a seeded random generator."""

import random
from dataclasses import dataclass
from typing import Literal

Sex = Literal["m", "f"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Surnames in the masculine form; feminine forms are derived (Иванов → Иванова).
_SURNAMES = _words(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев "
    "Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв "
    "Сергеев Кузьмин Фролов Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов "
    "Поляков Сорокин Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов "
    "Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов Сидоров Матвеев Титов Марков "
    "Миронов Крылов Куликов Карпов Власов Мельников Денисов Гаврилов Тихонов Казаков "
    "Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов Федотов "
    "Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев "
    "Воронин Климов Филатов"
)
_MALE_NAMES = _words(
    "Александр Алексей Андрей Антон Артём Борис Вадим Валерий Василий Виктор Владимир "
    "Владислав Георгий Григорий Даниил Денис Дмитрий Евгений Егор Иван Игорь Илья Кирилл "
    "Константин Максим Матвей Михаил Никита Николай Олег Павел Пётр Роман Сергей Степан "
    "Тимофей Фёдор Юрий Ярослав"
)
_FEMALE_NAMES = _words(
    "Алина Алёна Анастасия Анна Валентина Вера Виктория Галина Дарья Екатерина Елена "
    "Елизавета Ирина Ксения Лариса Любовь Людмила Марина Мария Надежда Наталья Нина Ольга "
    "Полина Светлана София Татьяна Ульяна Юлия"
)
# A father's name and the patronymics it gives: (name, masculine, feminine).
_FATHERS = (
    ("Александр", "Александрович", "Александровна"),
    ("Алексей", "Алексеевич", "Алексеевна"),
    ("Андрей", "Андреевич", "Андреевна"),
    ("Борис", "Борисович", "Борисовна"),
    ("Виктор", "Викторович", "Викторовна"),
    ("Владимир", "Владимирович", "Владимировна"),
    ("Геннадий", "Геннадьевич", "Геннадьевна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"),
    ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Иван", "Иванович", "Ивановна"),
    ("Игорь", "Игоревич", "Игоревна"),
    ("Константин", "Константинович", "Константиновна"),
    ("Михаил", "Михайлович", "Михайловна"),
    ("Николай", "Николаевич", "Николаевна"),
    ("Олег", "Олегович", "Олеговна"),
    ("Павел", "Павлович", "Павловна"),
    ("Пётр", "Петрович", "Петровна"),
    ("Сергей", "Сергеевич", "Сергеевна"),
    ("Юрий", "Юрьевич", "Юрьевна"),
    ("Василий", "Васильевич", "Васильевна"),
    ("Фёдор", "Фёдорович", "Фёдоровна"),
)


def feminine_surname(surname: str) -> str:
    """Иванов → Иванова, Никитин → Никитина (every surname above ends in -ов/-ёв/-ев/-ин)."""
    return surname + "а"


@dataclass(frozen=True)
class FullName:
    surname: str
    name: str
    patronymic: str
    sex: Sex


@dataclass(frozen=True)
class Family:
    """Parents and the patronymics their children get from the father's name."""

    surname: str  # masculine form
    father: FullName
    mother: FullName
    son_patronymic: str
    daughter_patronymic: str


class NameSource:
    """Deterministic names: the same generator state gives the same people in the same order."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def sex(self) -> Sex:
        return self._rng.choice(("m", "f"))

    def person(self, sex: Sex, surname: str | None = None) -> FullName:
        """A grown-up's full name; `surname` (masculine form) keeps a family together."""
        family = surname or self._rng.choice(_SURNAMES)
        _father, son, daughter = self._rng.choice(_FATHERS)
        if sex == "m":
            return FullName(family, self._rng.choice(_MALE_NAMES), son, sex)
        return FullName(feminine_surname(family), self._rng.choice(_FEMALE_NAMES), daughter, sex)

    def family(self) -> Family:
        surname = self._rng.choice(_SURNAMES)
        father_name, son, daughter = self._rng.choice(_FATHERS)
        father = self.person("m", surname)
        return Family(
            surname=surname,
            father=FullName(surname, father_name, father.patronymic, "m"),
            mother=self.person("f", surname),
            son_patronymic=son,
            daughter_patronymic=daughter,
        )

    def child(self, family: Family, sex: Sex) -> FullName:
        if sex == "m":
            return FullName(
                family.surname, self._rng.choice(_MALE_NAMES), family.son_patronymic, sex
            )
        return FullName(
            feminine_surname(family.surname),
            self._rng.choice(_FEMALE_NAMES),
            family.daughter_patronymic,
            sex,
        )
