package synth

// day is a calendar date as days since 1970-01-01. The generator works in
// whole days and minutes of the day, in Japan Standard Time, and formats
// them itself: time.Time would cost more than the rest of a resource.
type day int

// date returns the day of y-m-d.
func date(y, m, d int) day {
	// Howard Hinnant's days_from_civil.
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return day(era*146097 + doe - 719468)
}

// civil returns the year, month and day of d.
func (d day) civil() (y, m, dd int) {
	z := int(d) + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, dd
}

// weekday returns 0 for Sunday to 6 for Saturday.
func (d day) weekday() int { return (int(d)%7 + 11) % 7 }

// appendDate appends d as YYYY-MM-DD.
func appendDate(b []byte, d day) []byte {
	y, m, dd := d.civil()
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, m, 2)
	b = append(b, '-')
	return appendPadded(b, dd, 2)
}

// appendDateTime appends d at minute min of the day, in JST.
func appendDateTime(b []byte, d day, min int) []byte {
	d += day(min / (24 * 60))
	min %= 24 * 60
	b = appendDate(b, d)
	b = append(b, 'T')
	b = appendPadded(b, min/60, 2)
	b = append(b, ':')
	b = appendPadded(b, min%60, 2)
	return append(b, ":00+09:00"...)
}

// date writes the date member k.
func (e *enc) date(k string, d day) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = appendDate(e.b, d)
	e.b = append(e.b, '"')
	e.comma = true
}

// dateTime writes the dateTime member k.
func (e *enc) dateTime(k string, d day, min int) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = appendDateTime(e.b, d, min)
	e.b = append(e.b, '"')
	e.comma = true
}

// period writes the Period member k.
func (e *enc) period(k string, from day, fromMin int, to day, toMin int) {
	e.obj(k)
	e.dateTime("start", from, fromMin)
	e.dateTime("end", to, toMin)
	e.close()
}
