// The enrollment pages' browser lives with the simulators (Setup Assistant's web view uses it too).
export { WebBrowser as TestBrowser, errorText, inputValue, linkHref, statusText, type Page } from '../../src/sim/web-browser.js';
