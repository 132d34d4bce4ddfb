# Plots for bench/run (gnuplot-nox): reads the .dat files bench/lib/report.py
# writes under <dir>/data and draws PNGs into <dir>.
#   gnuplot -e "dir='bench/results'" bench/plot.gp
if (!exists("dir")) dir = "bench/results"
dat = dir."/data"
set terminal pngcairo size 900,520 font "DejaVu Sans,11" noenhanced
set datafile commentschars "#"
set style fill solid 0.7 border -1
set grid ytics
set key top right
set boxwidth 0.6
set xtics nomirror
set yrange [0:*]

# median bars with min-max whiskers
if (system("test -s ".dat."/s1_rps.dat && echo y") eq "y") {
  set output dir."/s1_rps.png"
  set title "1. GET /json, wrk -t1 -c50, one core each: requests/s (median, min-max)"
  set ylabel "requests/s"
  plot dat."/s1_rps.dat" using 0:2:xtic(1) with boxes lc rgb "#4a7ebb" notitle, \
       "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 notitle

  set output dir."/s1_latency.png"
  set title "1. GET /json, wrk -t1 -c50: latency (median, min-max)"
  set ylabel "ms"
  set logscale y
  set yrange [*:*]
  set boxwidth 0.35
  plot dat."/s1_lat.dat" using ($0-0.18):2:xtic(1) with boxes lc rgb "#4a7ebb" title "p50", \
       "" using ($0-0.18):2:3:4 with yerrorbars lc rgb "black" pt 0 notitle, \
       "" using ($0+0.18):5 with boxes lc rgb "#d9822b" title "p99", \
       "" using ($0+0.18):5:6:7 with yerrorbars lc rgb "black" pt 0 notitle

  set output dir."/s1_rate.png"
  set title "1. GET /json, open loop at a fixed rate: latency (median, min-max)"
  plot dat."/s1_rate.dat" using ($0-0.18):2:xtic(1) with boxes lc rgb "#4a7ebb" title "p50", \
       "" using ($0-0.18):2:3:4 with yerrorbars lc rgb "black" pt 0 notitle, \
       "" using ($0+0.18):5 with boxes lc rgb "#d9822b" title "p99", \
       "" using ($0+0.18):5:6:7 with yerrorbars lc rgb "black" pt 0 notitle
  unset logscale y
  set yrange [0:*]
  set boxwidth 0.6
}

if (system("test -s ".dat."/s2_rps.dat && echo y") eq "y") {
  set output dir."/s2_rps.png"
  set title "2. telemetry on vs off (and OpenResty bare): requests/s (median, min-max)"
  set ylabel "requests/s"
  plot dat."/s2_rps.dat" using 0:2:xtic(1) with boxes lc rgb "#4a7ebb" notitle, \
       "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 notitle
}

if (system("test -s ".dat."/s3_ir.dat && echo y") eq "y") {
  set output dir."/s3_ir.png"
  set title "3. instructions per request (callgrind)"
  set ylabel "Ir / request"
  plot dat."/s3_ir.dat" using 0:2:xtic(1) with boxes lc rgb "#4a7ebb" notitle
}

if (system("test -s ".dat."/soak_rss.dat && echo y") eq "y") {
  set output dir."/s7_soak_rss.png"
  set title "7. tycho RSS during the soak (telemetry on, open loop)"
  set xlabel "seconds"
  set ylabel "RSS MB"
  set yrange [0:*]
  plot dat."/soak_rss.dat" using 1:2 with lines lw 2 lc rgb "#4a7ebb" notitle
}
