import { mount } from "svelte";
import App from "./App.svelte";
import { WorkerClient } from "../worker/client.ts";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

const client = new WorkerClient();
// `?bench` lets bench/browserBench.ts and the end-to-end tests reach the worker the page uses.
if (new URLSearchParams(location.search).has("bench")) {
  Object.assign(window, { hdmeaBench: (bytes: number) => client.benchmarkSaveLoad(bytes), hdmeaWorker: client });
}

export default mount(App, { target, props: { client } });
