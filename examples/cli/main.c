/* irllrec: the command-line tool over .irlm model files (docs/cli.md), for
 * people who never write C. Each subcommand lives in its own file; this one
 * only dispatches. */
#include <string.h>
#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"inspect", cli_inspect, "verify a model file and list its sections and metadata"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: irllrec COMMAND [ARGS] (irllrec COMMAND --help for each)\n"
               "Query trained recommenders stored as .irlm files (docs/cli.md).\n\n");
    for (size_t c = 0; c < N_COMMANDS; c++)
        fprintf(f, "  %-10s %s\n", COMMANDS[c].name, COMMANDS[c].summary);
    fprintf(f, "\nText output by default, --json for one JSON object per line. Exit status:\n"
               "0 success, 1 the request failed (bad file, unknown id), 2 bad command line.\n"
               "On any failure nothing is printed on stdout and one line names the problem\n"
               "on stderr.\n");
}

irllrec_ctx *cli_ctx(const char *cmd, int32_t threads)
{
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_status st;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = threads;
    if ((st = irllrec_ctx_create(&cs, &ctx)) != IRLLREC_OK)
        cli_fail(CLI_FAIL, cmd, "cannot create a library context: %s", irllrec_status_str(st));
    return st == IRLLREC_OK ? ctx : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("irllrec %s\n", irllrec_version_string());
        return CLI_OK;
    }
    for (size_t c = 0; c < N_COMMANDS; c++)
        if (strcmp(argv[1], COMMANDS[c].name) == 0) return COMMANDS[c].run(argc, argv);
    fprintf(stderr, "irllrec: unknown command '%s' (want one of:", argv[1]);
    for (size_t c = 0; c < N_COMMANDS; c++) fprintf(stderr, " %s", COMMANDS[c].name);
    fprintf(stderr, "; see irllrec --help)\n");
    return CLI_USAGE;
}
