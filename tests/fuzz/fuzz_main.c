/* fuzz_main.c - run the fuzz target over files without libFuzzer.
 *
 *   fuzz_cron_replay FILE|DIR...
 *
 * Feeds each file (each regular file of each directory) to
 * LLVMFuzzerTestOneInput once, so that the corpus and any crash reproducer
 * can be replayed with gcc, valgrind or a plain debugger.  Exit 0 after all
 * inputs ran; a bug shows up as a crash or a sanitizer report.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (1 << 20)

static int
replay_file(const char *path)
{
    static uint8_t buf[REPLAY_MAX];
    FILE *fp = fopen(path, "rb");
    size_t n;

    if (fp == NULL) {
        fprintf(stderr, "fuzz_cron_replay: cannot open %s\n", path);
        return -1;
    }
    n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

int
main(int argc, char **argv)
{
    long inputs = 0;
    int i, rc = 0;

    for (i = 1; i < argc; i++) {
        struct stat st;
        DIR *dir;
        struct dirent *de;

        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "fuzz_cron_replay: no such file %s\n", argv[i]);
            rc = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) < 0)
                rc = 1;
            else
                inputs++;
            continue;
        }
        if ((dir = opendir(argv[i])) == NULL) {
            rc = 1;
            continue;
        }
        while ((de = readdir(dir)) != NULL) {
            char path[4096];

            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (replay_file(path) < 0)
                    rc = 1;
                else
                    inputs++;
            }
        }
        closedir(dir);
    }
    printf("replayed %ld inputs\n", inputs);
    return rc;
}
