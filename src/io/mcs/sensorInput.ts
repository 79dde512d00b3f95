/**
 * Opens a `.cmcr`'s raw sensor frames (`Acquisition/Sensor Data/SensorData 1 1`) as the input of
 * `load_recording_with_eimage_sta` (`inputs.sensorData`). The frames stay in the file and are read
 * a block at a time by the step; the caller closes the input when the run is over.
 *
 *   const sensorData = openSensorInput(rt, cmcrPath);
 *   try { await runPipeline(session, { steps: ["load_recording_with_eimage_sta"], inputs: { sensorData } }); }
 *   finally { sensorData.close(); }
 */
import type { SensorDataInput } from "../../core/steps/eimageSta.ts";
import type { H5Runtime } from "../h5.ts";
import { openSensorData } from "./cmcrReader.ts";

export interface OpenSensorInput extends SensorDataInput {
  name: string;
  close(): void;
}

/** Throws an Error naming the file when it has no sensor data or is damaged. */
export function openSensorInput(rt: H5Runtime, cmcrPath: string): OpenSensorInput {
  const source = openSensorData(rt, cmcrPath);
  return {
    name: source.fileName,
    shape: source.shape,
    readFrames: (start, end) => source.readFrames(start, end),
    close: () => source.close(),
  };
}
