/** The fos version, reported in HELLO and `fos --version`. Keep in step with package.json. */
export const VERSION = '0.1.0';
