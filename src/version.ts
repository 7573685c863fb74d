/** hwac's version: part of reports, cache keys and program headers. */
export const VERSION = "0.1.0";
