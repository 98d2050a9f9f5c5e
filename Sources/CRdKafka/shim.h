// librdkafka's C API, from Debian's librdkafka-dev (pkg-config name `rdkafka`).
#include <librdkafka/rdkafka.h>
