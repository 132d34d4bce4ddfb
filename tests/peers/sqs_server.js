// local-aws-sqs has no CLI (PEERS.md item 2): this starts it.
//   node tests/peers/sqs_server.js PORT
// Queue URLs look like http://127.0.0.1:PORT/123456789012/<name>.
"use strict";
const { createSqsServer } = require("local-aws-sqs");

const port = Number(process.argv[2] || 9324);
createSqsServer({ port, hostname: "127.0.0.1", emulateQueueCreationLifecycle: false })
  .then(() => console.log(`local-aws-sqs listening on http://127.0.0.1:${port}`))
  .catch((err) => {
    console.error(`local-aws-sqs failed to start: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  });
