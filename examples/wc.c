/* wc: count lines, words and bytes of files (or stdin), like the Unix tool.
 *
 * Build: clang-16 --target=wasm32-wasi -O2 -Wl,--strip-debug wc.c -o wc.wasm
 * Run:   wasmcore run --dir examples examples/wc.wasm examples/wc.c
 *
 * The guest sees only the directories given with --dir; opening anything else fails with
 * "Capabilities insufficient" / "No such file or directory", as under wasmtime. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct counts { unsigned long lines, words, bytes; };

static int count(FILE *in, struct counts *c) {
    int ch, in_word = 0;
    while ((ch = getc(in)) != EOF) {
        c->bytes++;
        if (ch == '\n') c->lines++;
        if (isspace(ch)) in_word = 0;
        else if (!in_word) { in_word = 1; c->words++; }
    }
    return ferror(in) ? -1 : 0;
}

static void report(const struct counts *c, const char *name) {
    printf("%7lu %7lu %7lu%s%s\n", c->lines, c->words, c->bytes, name ? " " : "", name ? name : "");
}

int main(int argc, char **argv) {
    struct counts total = {0, 0, 0};
    int status = 0;
    if (argc < 2) {
        if (count(stdin, &total) != 0) { perror("wc: stdin"); return 1; }
        report(&total, NULL);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        struct counts c = {0, 0, 0};
        FILE *in = fopen(argv[i], "r");
        if (!in) {
            fprintf(stderr, "wc: %s: %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        if (count(in, &c) != 0) { fprintf(stderr, "wc: %s: read error\n", argv[i]); status = 1; }
        fclose(in);
        report(&c, argv[i]);
        total.lines += c.lines; total.words += c.words; total.bytes += c.bytes;
    }
    if (argc > 2) report(&total, "total");
    return status;
}
