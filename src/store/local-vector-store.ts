// Temporary: the local store moved to store/local/. This re-export only keeps the two importers the lead is
// moving (store/open-stores.ts, chains/eval/runner.ts) compiling; delete it once they import the new path.
export { LocalVectorStore } from "./local/local-vector-store.ts";
