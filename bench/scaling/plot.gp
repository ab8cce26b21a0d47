# Plots of bench/scaling/run.sh: gnuplot -e "out='DIR'; plots='DIR'" plot.gp
set datafile separator ","
set terminal pngcairo size 1200,900 font "sans,10"
set output plots."/scaling.png"
set multiplot layout 3,1 title "Bursty trace (chat burst, long generations, tiny requests), KEDA on queue length vs token backlog"
set key top left
set xrange [0:130]
set grid
set ylabel "workers (replicas)"
plot out."/timeline-queue.csv" using ($1/60):4 skip 1 with steps lw 2 title "queue length (8 per worker)", \
     out."/timeline-backlog.csv" using ($1/60):4 skip 1 with steps lw 2 title "token backlog (2000 per worker)", \
     out."/timeline-both.csv" using ($1/60):4 skip 1 with steps lw 1 dt 2 title "both (deployed: 32 messages + 2000 tokens)"
set ylabel "token backlog"
plot out."/timeline-queue.csv" using ($1/60):3 skip 1 with lines title "scaling on queue length", \
     out."/timeline-backlog.csv" using ($1/60):3 skip 1 with lines title "scaling on token backlog"
set ylabel "p95 queue wait per minute (s)"
set xlabel "minutes"
set logscale y
plot out."/timeline-queue-wait.csv" using 1:($2 > 0.01 ? $2 : 0.01) skip 1 with steps lw 2 title "queue length", \
     out."/timeline-backlog-wait.csv" using 1:($2 > 0.01 ? $2 : 0.01) skip 1 with steps lw 2 title "token backlog"
unset multiplot

set datafile separator whitespace
set output plots."/scaling-tradeoff.png"
set terminal pngcairo size 800,500 font "sans,10"
unset logscale
set xrange [*:*]
set title "Worker-minutes against p95 queue wait, sweeping each policy's target"
set xlabel "worker-minutes over the 2-hour trace"
set ylabel "p95 queue wait (s)"
set key top right
plot "<grep ^queue ".out."/tradeoff.dat | sort -k2 -n" using 2:3 with linespoints pt 7 lw 2 title "queue length", \
     "" using 2:3:4 with labels offset 1,0.7 notitle, \
     "<grep ^backlog ".out."/tradeoff.dat | sort -k2 -n" using 2:3 with linespoints pt 5 lw 2 title "token backlog", \
     "" using 2:3:4 with labels offset 1,0.7 notitle, \
     "<grep ^both ".out."/tradeoff.dat" using 2:3 with points pt 3 ps 2.5 lw 2 title "both triggers (deployed: 32 messages + 2000 tokens)"
