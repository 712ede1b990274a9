// A moment as web/templatetags/moments.py words it («сегодня 14:05», «вчера 14:05», «2 дек.»),
// in the school's zone, with «today» the server's date there (data-today), so a live message
// reads as it will after a reload. Shared by chat.js and list.js.
const fillIn = (pattern, parts) => pattern.replace(/%\((\w+)\)s/g, (_, name) => parts[name]);

// words: moment_words(); zone: an IANA zone; todayIso: "YYYY-MM-DD". Returns iso -> {text, title}.
export function stamper(words, zone, todayIso) {
  const clock = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const today = new Date(todayIso + "T00:00:00Z");
  return (iso) => {
    const p = Object.fromEntries(clock.formatToParts(new Date(iso)).map(({ type, value }) => [type, value]));
    const time = `${p.hour}:${p.minute}`;
    const days = Math.round((today - Date.UTC(Number(p.year), p.month - 1, Number(p.day))) / 86400000);
    const text = days === 0 ? fillIn(words.today, { time })
      : days === 1 ? fillIn(words.yesterday, { time })
      : fillIn(Number(p.year) === today.getUTCFullYear() ? words.this_year : words.other_year,
        { day: String(Number(p.day)), month: words.months[p.month - 1], year: p.year });
    return { text, title: `${p.day}.${p.month}.${p.year} ${time}` };
  };
}
