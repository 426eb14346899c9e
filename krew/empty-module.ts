/** An empty module standing in for optional dependencies the bundle must not pull in (react-devtools-core). */
export default {};
