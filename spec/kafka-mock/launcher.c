/*
 * The Kafka of the specs: librdkafka's mock cluster (Debian's librdkafka-dev, rdkafka_mock.h),
 * a Kafka wire-protocol broker that runs inside this process. spec/services/kafka-mock.ts
 * builds and drives it.
 *
 *   kafka-mock-launcher <brokers: 1 or 3> [topic:partitions ...]
 *
 * Creates the cluster and the given topics, prints `bootstrap <host:port,...>` on one line,
 * then reads one command per line on stdin and answers each with `ok` or `error <text>`:
 *
 *   create <topic> <partitions>         a topic (replication: the broker count)
 *   down <brokerId> / up <brokerId>     disconnect a broker and refuse connections / accept again
 *   leader <topic> <partition> <id>     move a partition's leadership
 *   quit                                destroy the cluster and exit (also at end of input)
 *
 * The cluster runs on librdkafka's own threads, so a blocking read of stdin here is fine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define LINE_MAX_BYTES 1024

static int broker_count;

static void answer(const char *error) {
    if (error == NULL)
        fputs("ok\n", stdout);
    else
        fprintf(stdout, "error %s\n", error);
    fflush(stdout);
}

static void answer_err(rd_kafka_resp_err_t err) {
    answer(err == RD_KAFKA_RESP_ERR_NO_ERROR ? NULL : rd_kafka_err2str(err));
}

/* Parses a whole decimal integer in [min, max]; returns 0 on success. */
static int parse_int(const char *text, long min, long max, long *out) {
    char *end = NULL;
    long value;
    if (text == NULL || *text == '\0')
        return -1;
    value = strtol(text, &end, 10);
    if (*end != '\0' || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

static rd_kafka_resp_err_t create_topic(rd_kafka_mock_cluster_t *cluster, const char *topic, int partitions) {
    return rd_kafka_mock_topic_create(cluster, topic, partitions, broker_count);
}

/* Runs one command line; returns 1 when the launcher should exit. */
static int run_command(rd_kafka_mock_cluster_t *cluster, char *line) {
    char *verb = strtok(line, " \t\r\n");
    char *a = strtok(NULL, " \t\r\n");
    char *b = strtok(NULL, " \t\r\n");
    char *c = strtok(NULL, " \t\r\n");
    long n, m;

    if (verb == NULL) {
        answer("empty command");
    } else if (strcmp(verb, "quit") == 0) {
        answer(NULL);
        return 1;
    } else if (strcmp(verb, "create") == 0) {
        if (a == NULL || parse_int(b, 1, 100000, &n) != 0)
            answer("usage: create <topic> <partitions>");
        else
            answer_err(create_topic(cluster, a, (int)n));
    } else if (strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0) {
        if (parse_int(a, 1, broker_count, &n) != 0)
            answer("usage: down|up <brokerId>");
        else if (verb[0] == 'd')
            answer_err(rd_kafka_mock_broker_set_down(cluster, (int32_t)n));
        else
            answer_err(rd_kafka_mock_broker_set_up(cluster, (int32_t)n));
    } else if (strcmp(verb, "leader") == 0) {
        if (a == NULL || parse_int(b, 0, 100000, &n) != 0 || parse_int(c, 1, broker_count, &m) != 0)
            answer("usage: leader <topic> <partition> <brokerId>");
        else
            answer_err(rd_kafka_mock_partition_set_leader(cluster, a, (int32_t)n, (int32_t)m));
    } else {
        answer("unknown command");
    }
    return 0;
}

int main(int argc, char **argv) {
    char errstr[512];
    char line[LINE_MAX_BYTES];
    long brokers;
    int i;
    rd_kafka_conf_t *conf;
    rd_kafka_t *handle;
    rd_kafka_mock_cluster_t *cluster;

    if (argc < 2 || parse_int(argv[1], 1, 3, &brokers) != 0 || brokers == 2) {
        fprintf(stderr, "usage: %s <brokers: 1 or 3> [topic:partitions ...]\n", argv[0]);
        return 2;
    }
    broker_count = (int)brokers;

    /* The mock cluster needs a client handle for its bookkeeping; it is never used otherwise. */
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config: %s\n", errstr);
        return 1;
    }
    handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (handle == NULL) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        return 1;
    }
    cluster = rd_kafka_mock_cluster_new(handle, broker_count);
    if (cluster == NULL) {
        fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
        rd_kafka_destroy(handle);
        return 1;
    }

    for (i = 2; i < argc; i++) {
        char *spec = argv[i];
        char *colon = strrchr(spec, ':');
        long partitions;
        rd_kafka_resp_err_t err;
        if (colon == NULL || colon == spec || parse_int(colon + 1, 1, 100000, &partitions) != 0) {
            fprintf(stderr, "bad topic %s: expected topic:partitions\n", spec);
            rd_kafka_mock_cluster_destroy(cluster);
            rd_kafka_destroy(handle);
            return 2;
        }
        *colon = '\0';
        err = create_topic(cluster, spec, (int)partitions);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "create %s: %s\n", spec, rd_kafka_err2str(err));
            rd_kafka_mock_cluster_destroy(cluster);
            rd_kafka_destroy(handle);
            return 1;
        }
    }

    fprintf(stdout, "bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);

    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strchr(line, '\n') == NULL && !feof(stdin)) {
            int ch;
            while ((ch = getchar()) != '\n' && ch != EOF) {
            }
            answer("line too long");
            continue;
        }
        if (run_command(cluster, line))
            break;
    }

    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(handle);
    return 0;
}
