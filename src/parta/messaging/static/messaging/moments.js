// A moment as web/templatetags/moments.py words it («сегодня 14:05», «вчера 14:05», «2 дек.»),
// in the school's zone, with «today» the server's date there (data-today), so a live message
// reads as it will after a reload. Shared by chat.js and list.js.
const fillIn = (pattern, parts) => pattern.replace(/%\((\w+)\)s/g, (_, name) => parts[name]);

// words: moment_words(); zone: an IANA zone; todayIso: "YYYY-MM-DD". Returns iso -> {text, title};
// its turn() moves «today» on when the school's date has turned over on this clock (a page
// left open past midnight) and says whether it did, so that labels are drawn again.
export function stamper(words, zone, todayIso) {
  const clock = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const partsOf = (moment) => Object.fromEntries(clock.formatToParts(moment).map(({ type, value }) => [type, value]));
  const dayOf = (p) => Date.UTC(Number(p.year), p.month - 1, Number(p.day));
  let today = Date.parse(todayIso + "T00:00:00Z");
  const stamp = (iso) => {
    const p = partsOf(new Date(iso));
    const time = `${p.hour}:${p.minute}`;
    const days = Math.round((today - dayOf(p)) / 86400000);
    const text = days === 0 ? fillIn(words.today, { time })
      : days === 1 ? fillIn(words.yesterday, { time })
      : fillIn(Number(p.year) === new Date(today).getUTCFullYear() ? words.this_year : words.other_year,
        { day: String(Number(p.day)), month: words.months[p.month - 1], year: p.year });
    return { text, title: `${p.day}.${p.month}.${p.year} ${time}` };
  };
  stamp.turn = () => {
    const now = dayOf(partsOf(new Date()));
    if (now <= today) return false;
    today = now;
    return true;
  };
  return stamp;
}

// Draws the <time datetime> labels under `root` again once a minute and when the tab is
// shown again, if the day has turned; stampOf(time) is the stamper of that label's school.
export function keepLabelsCurrent(root, stampOf) {
  const redraw = () => {
    const times = [...root.querySelectorAll("time[datetime]")];
    const turned = new Set([...new Set(times.map(stampOf))].filter((stamp) => stamp.turn()));
    for (const time of times) {
      const stamp = stampOf(time);
      if (turned.has(stamp)) time.textContent = stamp(time.getAttribute("datetime")).text;
    }
  };
  setInterval(redraw, 60000);
  document.addEventListener("visibilitychange", redraw);
}
