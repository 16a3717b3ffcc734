// A small IndexedDB store of byte arrays, used by the lab's worker (IndexedDB works in workers
// as in the page): the MNIST network survives a reload.
const STORE = "weights";
let opened = null;

function openStore() {
  opened ??= new Promise((resolve, reject) => {
    const r = indexedDB.open("difflab", 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return opened;
}

export const store = {
  async put(key, bytes) {
    const copy = bytes.slice(); // the argument is a view of WebAssembly memory: copy it now
    const db = await openStore();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, "readwrite");
      tx.objectStore(STORE).put(copy, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  },
  async get(key) {
    const db = await openStore();
    return new Promise((resolve, reject) => {
      const r = db.transaction(STORE).objectStore(STORE).get(key);
      r.onsuccess = () => resolve(r.result ?? null);
      r.onerror = () => reject(r.error);
    });
  },
};
