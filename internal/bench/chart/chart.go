// Package chart draws the benchmark charts (PNG) from the JSON-lines
// results that internal/bench writes: mix throughput against clients and
// server memory against idle connections. It is a separate package so that
// the barid binary does not link the plotting library (gonum.org/v1/plot).
package chart

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"barid/internal/bench"
)

// Files are the chart file names Write produces.
const (
	ThroughputFile = "bench-throughput.png"
	MemoryFile     = "bench-memory.png"
)

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
}

// Series is one line of a chart.
type Series struct {
	Name string
	X, Y []float64
}

// Throughput returns one series per server and mix mode: total ops/s
// against clients. The last record for each point wins.
func Throughput(recs []bench.Record, servers []string) []Series {
	var out []Series
	for _, s := range servers {
		for _, mode := range []string{"session", "cycle"} {
			pts := map[int]float64{}
			for _, r := range recs {
				if r.Server == s && r.Scenario == "mix" && r.Error == "" && r.Mix != nil && r.Mix.Mode == mode {
					pts[r.Mix.Clients] = r.Mix.OpsPerSec
				}
			}
			if ser := toSeries(fmt.Sprintf("%s (%s)", s, mode), pts); ser != nil {
				out = append(out, *ser)
			}
		}
	}
	return out
}

// Memory returns, per server, the server's memory in MiB after C idle
// connections were opened: RSS, and PSS where it differs (multi-process
// servers).
func Memory(recs []bench.Record, servers []string) []Series {
	var out []Series
	for _, s := range servers {
		rss, pss := map[int]float64{}, map[int]float64{}
		multi := false
		for _, r := range recs {
			if r.Server != s || r.Scenario != "idle" || r.Error != "" || r.Idle == nil || r.Idle.After == nil {
				continue
			}
			rss[r.Idle.Established] = float64(r.Idle.After.RSSKiB) / 1024
			pss[r.Idle.Established] = float64(r.Idle.After.PSSKiB) / 1024
			if r.Idle.After.Procs > 1 {
				multi = true
			}
			if r.Idle.Before != nil {
				rss[0] = float64(r.Idle.Before.RSSKiB) / 1024
				pss[0] = float64(r.Idle.Before.PSSKiB) / 1024
			}
		}
		if ser := toSeries(s+" RSS", rss); ser != nil {
			out = append(out, *ser)
		}
		if multi {
			if ser := toSeries(s+" PSS", pss); ser != nil {
				out = append(out, *ser)
			}
		}
	}
	return out
}

func toSeries(name string, pts map[int]float64) *Series {
	if len(pts) == 0 {
		return nil
	}
	var xs []int
	for x := range pts {
		xs = append(xs, x)
	}
	slices.Sort(xs)
	s := &Series{Name: name}
	for _, x := range xs {
		s.X = append(s.X, float64(x))
		s.Y = append(s.Y, pts[x])
	}
	return s
}

// Draw renders series as a line chart with points into a PNG file.
func Draw(path, title, xlabel, ylabel string, series []Series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.X.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Tick.Marker = plainTicks{}
	p.X.Tick.Marker = plainTicks{}
	p.Add(plotter.NewGrid())
	// Leave room above the data for the legend.
	top := 0.0
	for _, s := range series {
		for _, y := range s.Y {
			top = max(top, y)
		}
	}
	if top > 0 {
		p.Y.Max = top * (1.15 + 0.08*float64(len(series)))
	}
	for i, s := range series {
		xy := make(plotter.XYs, len(s.X))
		for k := range s.X {
			xy[k].X, xy[k].Y = s.X[k], s.Y[k]
		}
		line, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		c := palette[i%len(palette)]
		line.Color = c
		line.Width = vg.Points(2)
		pts.Color = c
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(3)
		p.Add(line, pts)
		p.Legend.Add(s.Name, line, pts)
	}
	if len(series) == 0 {
		p.Title.Text += " (no data)"
	}
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}

// Write draws every chart into dir and returns the files written.
func Write(recs []bench.Record, dir string, servers []string) ([]string, error) {
	var out []string
	charts := []struct {
		file, title, x, y string
		series            []Series
	}{
		{ThroughputFile, "IMAP mix throughput", "concurrent clients", "operations per second", Throughput(recs, servers)},
		{MemoryFile, "Server memory with idle IMAP connections", "IDLE connections", "server memory (MiB)", Memory(recs, servers)},
	}
	for _, c := range charts {
		if len(c.series) == 0 {
			continue
		}
		path := filepath.Join(dir, c.file)
		if err := Draw(path, c.title, c.x, c.y, c.series); err != nil {
			return out, fmt.Errorf("%s: %w", c.file, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// plainTicks are gonum's default ticks with labels printed without
// trailing zeros ("50000", not "50000.00").
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}
