// examples/functions/hello.mjs: a Node function as an ES module
// (docs/FUNCTIONS.md). Deploy it with runtime "node" and handler
// "handler"; the result object with statusCode sets status and headers.
export async function handler(request) {
  return {
    statusCode: 200,
    headers: { "X-Example": "hello.mjs" },
    body: { message: "hello", input: request.body, runtime: `node ${process.version}` },
  };
}
