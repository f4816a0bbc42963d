package synth

import "fmt"

// Token ids of the control tokens.
const (
	tokUnk = 0
	tokBOS = 1
	tokEOS = 2
)

// SentencePiece token types as llama.cpp numbers them.
const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
	typeByte    = 6
)

// firstWord is the id of the first made-up word token, after the control
// and byte tokens.
const firstWord = minVocab

// tokenText is the text of token i: <unk>, <s>, </s>, the byte tokens
// <0x00>..<0xFF>, then words "▁a", "a", "▁b", "b", ..., "▁z", "z", "▁aa",
// "aa", ... in that order, each unique.
func tokenText(i int) string {
	switch {
	case i == tokUnk:
		return "<unk>"
	case i == tokBOS:
		return "<s>"
	case i == tokEOS:
		return "</s>"
	case i < firstWord:
		return fmt.Sprintf("<0x%02X>", i-3)
	}
	k := i - firstWord
	if k%2 == 0 {
		return "\u2581" + letters(k/2)
	}
	return letters(k / 2)
}

// letters is n in bijective base 26 over a..z: 0 is "a", 25 "z", 26 "aa".
func letters(n int) string {
	var b [16]byte
	i := len(b)
	for n++; n > 0; n = (n - 1) / 26 {
		i--
		b[i] = byte('a' + (n-1)%26)
	}
	return string(b[i:])
}

// tokenScore favours shorter words when the tokenizer merges pieces.
func tokenScore(i int) float32 {
	if i < firstWord {
		return 0
	}
	return -float32(i - firstWord)
}

// tokenType is the SentencePiece type of token i.
func tokenType(i int) int32 {
	switch {
	case i == tokUnk:
		return typeUnknown
	case i == tokBOS || i == tokEOS:
		return typeControl
	case i < firstWord:
		return typeByte
	}
	return typeNormal
}
