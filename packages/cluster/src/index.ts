export { hello } from './hello'
