package runner

import (
	"strings"
)

// SplitArgs splits an --extra-args value into words the way a POSIX shell
// would, without expanding anything: blanks separate words, '...' keeps its
// text as it is, "..." keeps its text except that a backslash escapes $, `,
// ", \ and a newline, and outside quotes a backslash escapes any character.
// Quoted parts join the word they touch, and "" is an empty word. An
// unterminated quote or a trailing backslash is an error.
func SplitArgs(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	end := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}

	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			end()
		case r == '\\':
			if i+1 >= len(rs) {
				return nil, splitError(s, "trailing backslash")
			}
			i++
			if rs[i] != '\n' { // backslash-newline joins lines
				cur.WriteRune(rs[i])
				inWord = true
			}
		case r == '\'':
			j := indexRune(rs, i+1, '\'')
			if j < 0 {
				return nil, splitError(s, "unterminated ' quote")
			}
			cur.WriteString(string(rs[i+1 : j]))
			inWord = true
			i = j
		case r == '"':
			j, err := readDouble(rs, i+1, &cur)
			if err != "" {
				return nil, splitError(s, err)
			}
			inWord = true
			i = j
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	end()
	return words, nil
}

// readDouble copies a "..." body starting at rs[i] into cur and returns the
// index of the closing quote, or a reason when there is none.
func readDouble(rs []rune, i int, cur *strings.Builder) (int, string) {
	for ; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '"':
			return i, ""
		case r == '\\' && i+1 < len(rs) && strings.ContainsRune("$`\"\\\n", rs[i+1]):
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
			}
		default:
			cur.WriteRune(r)
		}
	}
	return -1, `unterminated " quote`
}

func indexRune(rs []rune, from int, r rune) int {
	for i := from; i < len(rs); i++ {
		if rs[i] == r {
			return i
		}
	}
	return -1
}

func splitError(value, reason string) error {
	return &FlagError{
		Flag:     FlagExtraArgs,
		Value:    value,
		Reason:   reason,
		Accepted: `words separated by blanks, with '...', "..." and \ quoting`,
	}
}
