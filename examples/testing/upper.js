// The service the suite's `UPPER` binding reaches: echoes the request body upper-cased.
export default {
  async fetch(request) {
    return new Response((await request.text()).toUpperCase(), { headers: { "x-served-by": "upper" } });
  },
};
