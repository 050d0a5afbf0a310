package teamsapp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"unicode"
)

// Icon sizes Teams requires.
const (
	ColorIconSize   = 192
	OutlineIconSize = 32
)

// glyph is a 5×7 bitmap, one string per row, '#' for ink.
type glyph [7]string

// iconMark is the glyph drawn on the icons: the first ASCII letter or
// digit of name, or a bell when it has none.
func iconMark(name string) glyph {
	for _, r := range name {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return glyphFor(unicode.ToUpper(r))
		}
	}
	return glyphFor(0)
}

// colorIcon draws g in white, 14 pixels per dot (70×98, inside the
// 120×120 area Teams keeps clear of its rounded mask), centred on a square
// of the accent colour.
func colorIcon(g glyph, accent color.NRGBA) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, ColorIconSize, ColorIconSize))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = accent.R, accent.G, accent.B, 255
	}
	draw(img, g, 14, color.NRGBA{255, 255, 255, 255})
	return encodePNG(img, ColorIcon)
}

// outlineIcon draws g in white, 4 pixels per dot (20×28), centred on a
// transparent square: Teams wants only white and transparent pixels.
func outlineIcon(g glyph) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, OutlineIconSize, OutlineIconSize))
	draw(img, g, 4, color.NRGBA{255, 255, 255, 255})
	return encodePNG(img, OutlineIcon)
}

// draw paints g onto img, centred, each dot a scale×scale square.
func draw(img *image.NRGBA, g glyph, scale int, ink color.NRGBA) {
	size := img.Bounds().Dx()
	x0 := (size - 5*scale) / 2
	y0 := (size - 7*scale) / 2
	for row, line := range g {
		for col, c := range line {
			if c != '#' {
				continue
			}
			for y := y0 + row*scale; y < y0+(row+1)*scale; y++ {
				for x := x0 + col*scale; x < x0+(col+1)*scale; x++ {
					img.SetNRGBA(x, y, ink)
				}
			}
		}
	}
}

func encodePNG(img image.Image, name string) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func parseHexColor(s string) (color.NRGBA, bool) {
	if !isHexColor(s) {
		return color.NRGBA{}, false
	}
	b, _ := hex.DecodeString(s[1:])
	return color.NRGBA{b[0], b[1], b[2], 255}, true
}

// glyphFor returns the bitmap of an upper-case ASCII letter or a digit; any
// other rune gets a bell.
func glyphFor(r rune) glyph {
	switch r {
	case '0':
		return glyph{".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}
	case '1':
		return glyph{"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}
	case '2':
		return glyph{".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}
	case '3':
		return glyph{"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}
	case '4':
		return glyph{"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}
	case '5':
		return glyph{"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}
	case '6':
		return glyph{"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}
	case '7':
		return glyph{"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}
	case '8':
		return glyph{".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}
	case '9':
		return glyph{".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}
	case 'A':
		return glyph{".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}
	case 'B':
		return glyph{"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}
	case 'C':
		return glyph{".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}
	case 'D':
		return glyph{"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."}
	case 'E':
		return glyph{"#####", "#....", "#....", "####.", "#....", "#....", "#####"}
	case 'F':
		return glyph{"#####", "#....", "#....", "####.", "#....", "#....", "#...."}
	case 'G':
		return glyph{".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}
	case 'H':
		return glyph{"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}
	case 'I':
		return glyph{".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}
	case 'J':
		return glyph{"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}
	case 'K':
		return glyph{"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}
	case 'L':
		return glyph{"#....", "#....", "#....", "#....", "#....", "#....", "#####"}
	case 'M':
		return glyph{"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}
	case 'N':
		return glyph{"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}
	case 'O':
		return glyph{".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}
	case 'P':
		return glyph{"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}
	case 'Q':
		return glyph{".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}
	case 'R':
		return glyph{"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}
	case 'S':
		return glyph{".####", "#....", "#....", ".###.", "....#", "....#", "####."}
	case 'T':
		return glyph{"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}
	case 'U':
		return glyph{"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}
	case 'V':
		return glyph{"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}
	case 'W':
		return glyph{"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}
	case 'X':
		return glyph{"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}
	case 'Y':
		return glyph{"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}
	case 'Z':
		return glyph{"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}
	}
	return glyph{"..#..", ".###.", ".###.", ".###.", "#####", ".....", "..#.."}
}
