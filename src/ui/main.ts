import { mount } from "svelte";
import App from "./App.svelte";
import { WorkerClient } from "../worker/client.ts";
import { AppUpdate } from "./appUpdate.svelte.ts";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

const client = new WorkerClient();
// `?bench` lets bench/browserBench.ts and the end-to-end tests reach the worker the page uses.
if (new URLSearchParams(location.search).has("bench")) {
  Object.assign(window, { hdmeaBench: (bytes: number, budgetBytes?: number) => client.benchmarkSaveLoad(bytes, budgetBytes), hdmeaWorker: client });
}

// Offline after the first visit (production builds only: the dev server has no sw.js).
const update = new AppUpdate();
if (import.meta.env.PROD) {
  update.register().catch((error) => console.warn("offline support unavailable:", error));
}

export default mount(App, { target, props: { client, update } });
