package main

import (
	"bytes"
	"unicode/utf8"
)

// capped keeps the first limit bytes written to it and counts the rest,
// which it accepts and drops: a command that prints too much must not
// block on a full pipe or fill the plugin's memory, nor be killed for it.
// Each capped is written by one goroutine and read after it is done.
type capped struct {
	buf     bytes.Buffer
	limit   int
	dropped int64
}

func newCapped(limit int) *capped { return &capped{limit: limit} }

func (c *capped) Write(p []byte) (int, error) {
	room := c.limit - c.buf.Len()
	if room >= len(p) {
		return c.buf.Write(p)
	}
	if room > 0 {
		c.buf.Write(p[:room])
	}
	c.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

// String is the kept output; when output was dropped, a character cut in
// two at the limit is left out rather than turned into garbage.
func (c *capped) String() string {
	b := c.buf.Bytes()
	if c.dropped > 0 {
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return string(b)
}

// truncated says how much was dropped, for the run's log.
func (c *capped) truncated() int64 { return c.dropped }
