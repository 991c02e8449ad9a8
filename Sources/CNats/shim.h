// NATS's C client (Debian's libnats-dev) for Swift: the header, nothing else.
#include <nats/nats.h>
