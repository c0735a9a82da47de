/*
 * bench_report.c — the printed output of stele_bench: one aligned table per
 * benchmark (median, min, max of the repeated runs), a verdict line per target, and
 * the final summary of every target. Figures are printed, never asserted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define GOALS_MAX 32 /* the benchmarks report about ten */

static bench_goal g_goals[GOALS_MAX];
static size_t g_ngoals;
static const char *g_unit = "";

/* Three significant digits or so, whatever the magnitude. */
static const char *fmt_num(double v, char *buf, size_t cap)
{
    if (v >= 1000) snprintf(buf, cap, "%.0f", v);
    else if (v >= 10) snprintf(buf, cap, "%.1f", v);
    else snprintf(buf, cap, "%.3f", v);
    return buf;
}

void bench_section(const char *title, const char *detail)
{
    printf("\n== %s\n   %s\n", title, detail);
    fflush(stdout);
}

void bench_row_header(const char *unit)
{
    g_unit = unit;
    printf("   %-40s %12s %12s %12s  %s\n", "system", "median", "min", "max", "unit");
}

void bench_row(const char *system, const bench_stats *s)
{
    char a[32], b[32], c[32];
    printf("   %-40s %12s %12s %12s  %s\n", system, fmt_num(s->median, a, sizeof a),
           fmt_num(s->min, b, sizeof b), fmt_num(s->max, c, sizeof c), g_unit);
    fflush(stdout);
}

void bench_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("   ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

static double goal_value(const bench_goal *g)
{
    return g->ratio_target ? (g->peer > 0 ? g->ours / g->peer : 0) : g->ours;
}

static int goal_met(const bench_goal *g)
{
    double v = goal_value(g);
    return g->lower_is_better ? v <= g->target : v >= g->target;
}

static const char *goal_target(const bench_goal *g, char *buf, size_t cap)
{
    char t[32];
    if (g->ratio_target)
        snprintf(buf, cap, "%s %.2fx %s", g->lower_is_better ? "<=" : ">=", g->target,
                 g->peer_name);
    else
        snprintf(buf, cap, "%s %s %s", g->lower_is_better ? "<=" : ">=",
                 fmt_num(g->target, t, sizeof t), g->unit);
    return buf;
}

static const char *goal_ratio(const bench_goal *g, char *buf, size_t cap)
{
    if (g->peer > 0) snprintf(buf, cap, "%.2fx", g->ours / g->peer);
    else snprintf(buf, cap, "-");
    return buf;
}

void bench_goal_report(const bench_goal *g)
{
    BENCH_CHECK(g_ngoals < GOALS_MAX, "too many goals");
    g_goals[g_ngoals++] = *g;
    char r[32], t[96];
    printf("   -> %s:", g->metric);
    if (g->peer > 0) printf(" Stele/%s = %s;", g->peer_name, goal_ratio(g, r, sizeof r));
    printf(" target %s: %s\n", goal_target(g, t, sizeof t), goal_met(g) ? "MET" : "MISSED");
    fflush(stdout);
}

void bench_summary_print(void)
{
    char a[32], b[32], r[32], t[96], peer[64];
    printf("\n== Summary (medians; ratio = Stele / peer)\n");
    printf("   %-44s %-11s %10s %10s  %-26s %7s  %-34s %s\n", "metric", "unit", "Stele",
           "peer", "(peer)", "ratio", "target", "result");
    for (size_t i = 0; i < g_ngoals; i++) {
        const bench_goal *g = &g_goals[i];
        snprintf(peer, sizeof peer, "%s", g->peer_name ? g->peer_name : "-");
        printf("   %-44s %-11s %10s %10s  %-26s %7s  %-34s %s\n", g->metric, g->unit,
               fmt_num(g->ours, a, sizeof a), g->peer > 0 ? fmt_num(g->peer, b, sizeof b) : "-",
               peer, goal_ratio(g, r, sizeof r), goal_target(g, t, sizeof t),
               goal_met(g) ? "MET" : "MISSED");
    }
    fflush(stdout);
}
