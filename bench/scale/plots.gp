# Renders scale_bench's time series (scale.csv) as PNGs. Called by scale_bench itself:
#   gnuplot -e "csv='scale.csv'; out='DIR'; replicas=3" bench/scale/plots.gp
# Columns: t_s phase connected checkins errors io_failures updates connect_p99_ms telemetry
#          (replicaN_mib replicaN_cpu_s) per replica, postgres_mib generators_mib
set datafile separator ','
set terminal pngcairo size 900,450 noenhanced
set key outside bottom center horizontal
set grid
set xlabel 'seconds since the generators started'

set output out.'/scale-connections.png'
set title 'devices connected (parked long-polls) and check-ins per second'
set ylabel 'devices connected'
set y2label 'check-ins per second'
set ytics nomirror
set y2tics
plot csv using 1:3 every ::1 with lines lw 2 title 'connected', \
     csv using 1:4 every ::1 axes x1y2 with lines title 'check-ins/s', \
     csv using 1:9 every ::1 axes x1y2 with lines dt 2 title 'telemetry batches/s', \
     csv using 1:($5+$6) every ::1 axes x1y2 with impulses title 'errors + connection failures'
unset y2label
unset y2tics
set ytics mirror

set output out.'/scale-memory.png'
set title 'memory (replicas: RSS; PostgreSQL: Pss of all its processes)'
set ylabel 'MiB'
plot for [r=0:replicas-1] csv using 1:(column(10+2*r)) every ::1 with lines title sprintf('replica %d', r), \
     csv using 1:(column(10+2*replicas)) every ::1 with lines title 'PostgreSQL', \
     csv using 1:(column(11+2*replicas)) every ::1 with lines dt 2 title 'generators'

set output out.'/scale-latency.png'
set title 'p99 of connecting check-ins (TCP + mTLS handshake + first check-in), per second'
set ylabel 'ms'
plot csv using 1:8 every ::1 with linespoints pt 7 ps 0.5 title 'p99 (highest generator)'
