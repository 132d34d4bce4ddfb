// A loopback HTTP receiver for the exporter tests: captures every request
// and answers the way the test asks. Prints "PORT <n>" once listening.
//
//   POST /__mode      {"status":200,"delay_ms":0,"retry_after":null,"fail_first":0,
//                      "fail_status":503,"body":"","body_b64":null,"content_type":null,
//                      "keep":true}
//                     body_b64: a binary answer body (base64), e.g. an OTLP response
//                     fail_first N: the next N requests get fail_status (with
//                     Retry-After when retry_after is set), then status again
//                     keep false: nothing is captured (a benchmark's sink)
//   GET  /__captured  [{"t":ms,"method","path","headers":{lowercase:value},
//                       "body":base64,"status":answered,"answered":ms,
//                       "client_gone":true when the sender hung up before the
//                       answer (so it never saw a 2xx)}] in arrival order
//   POST /__reset     forgets what was captured
//   POST /__take      what /__captured returns, forgetting it in the same step
//                     (nothing captured between a read and a reset is lost)
//   GET  /ecs[/task]  ECS task metadata v4 documents (fixtures below)
//
// usage: node receiver.js [PORT]
'use strict';
const http = require('http');

let mode = {status: 200, delay_ms: 0, retry_after: null, fail_first: 0, fail_status: 503,
            body: '', body_b64: null, content_type: null, keep: true};
let captured = [];

const ECS_CONTAINER = {
  DockerId: 'cd189a933e5849daa93386466019ab50-2495160603',
  Name: 'app',
  DockerName: 'app',
  Image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/tycho:latest',
  ContainerARN: 'arn:aws:ecs:us-west-2:111122223333:container/default/cd189a933e5849daa93386466019ab50/1a1b2c3d',
  LogDriver: 'awslogs',
  LogOptions: {'awslogs-create-group': 'true', 'awslogs-group': '/ecs/tycho',
               'awslogs-region': 'us-west-2', 'awslogs-stream': 'ecs/app/cd189a933e58'},
};
const ECS_TASK = {
  Cluster: 'default',
  TaskARN: 'arn:aws:ecs:us-west-2:111122223333:task/default/cd189a933e5849daa93386466019ab50',
  Family: 'tycho-app',
  Revision: '7',
  AvailabilityZone: 'us-west-2a',
  LaunchType: 'FARGATE',
  Containers: [ECS_CONTAINER],
};

function send(res, code, body, headers) {
  const len = Buffer.isBuffer(body) ? body.length : Buffer.byteLength(body);
  res.writeHead(code, Object.assign({'Content-Length': len}, headers || {}));
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const path = req.url;
    if (path === '/__mode' && req.method === 'POST') {
      mode = Object.assign(mode, JSON.parse(body.toString() || '{}'));
      return send(res, 200, JSON.stringify(mode));
    }
    if (path === '/__captured') return send(res, 200, JSON.stringify(captured));
    if (path === '/__reset' && req.method === 'POST') {
      captured = [];
      return send(res, 200, '{}');
    }
    if (path === '/__take' && req.method === 'POST') {
      const taken = JSON.stringify(captured);
      captured = [];
      return send(res, 200, taken);
    }
    if (path === '/ecs' || path === '/ecs/') return send(res, 200, JSON.stringify(ECS_CONTAINER));
    if (path === '/ecs/task') return send(res, 200, JSON.stringify(ECS_TASK));

    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
    let status = mode.status;
    const extra = {};
    if (mode.fail_first > 0) {
      mode.fail_first--;
      status = mode.fail_status;
    }
    if (status === 429 || status === 503 || (mode.retry_after !== null && status >= 400)) {
      if (mode.retry_after !== null) extra['Retry-After'] = String(mode.retry_after);
    }
    if (mode.content_type) extra['Content-Type'] = mode.content_type;
    const entry = {t: Date.now(), method: req.method, path, headers,
                   body: mode.keep ? body.toString('base64') : '', status};
    if (mode.keep) captured.push(entry);
    res.on('close', () => {
      if (!entry.answered) entry.client_gone = true; // the sender timed out first
    });
    const answer = () => {
      if (entry.client_gone) return;
      entry.answered = Date.now();
      let out = status >= 400 && !mode.body ? `status ${status}` : mode.body;
      if (mode.body_b64 && status < 400) out = Buffer.from(mode.body_b64, 'base64');
      if (status === 204) {
        res.writeHead(204, extra);
        return res.end();
      }
      send(res, status, out, extra);
    };
    if (mode.delay_ms > 0) setTimeout(answer, mode.delay_ms);
    else answer();
  });
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
