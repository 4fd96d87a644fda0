// js-waku 0.0.27's libp2p calls Promise.withResolvers, which Node gained only
// in 22. Loaded with `node --import` before anything else.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
