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
    {"recommend", cli_recommend, "top-K items for users of a serving model"},
    {"similar", cli_similar, "nearest items to items, or users to users (cosine)"},
    {"explain", cli_explain, "intents of a user or item; a pair's score split by intent"},
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
